import { join } from 'node:path'
import { bootService, stopOnSignals } from '@chat/common/boot'
import { SERVICE_DEFAULTS } from '@chat/common/ports'
import { withTimeout } from '@chat/common/async'
import { createDb } from '@chat/common/db'
import { resolveInternalToken } from '@chat/common/dev-secrets'
import { createTokenVerifier, remoteKeySet } from '@chat/common/tokens'
import { createChatApp } from './app'
import { loadChatConfig } from './config'
import { createMessageStore } from './messages/store'
import { connectReplica, createReplicaReads } from './replica'
import { startRealtime } from './realtime'
import type { TopicPublish } from './realtime/hub'
import { findEndedMemberships, isMember } from './rooms/service'
import { ensureSearchLanguage } from './search/language'
import { createUserDirectory } from './users-client'
import { wsController } from './ws'

/** Connections still open this long after every socket was told to go (a client that never answers the close) are cut. */
const STOP_LINGER_MS = 1000

const config = loadChatConfig()
const internalToken = resolveInternalToken(config)
// Messages are written constantly into tables that start empty: see DbOptions.customPlans.
const runtime = await bootService('chat', config, SERVICE_DEFAULTS.chat.schema, join(import.meta.dir, '..', 'migrations'), { customPlans: true })
await ensureSearchLanguage(runtime.sql, config.SEARCH_LANGUAGE, runtime.log)
const replica = connectReplica(config)
const replicaOptions = { retryMs: config.DATABASE_REPLICA_RETRY_MS, statementTimeoutMs: config.DATABASE_REPLICA_STATEMENT_TIMEOUT_MS, log: runtime.log }
const reads = createReplicaReads(runtime.sql, replica, replicaOptions)
// See ChatDeps.searchReads. Same reason for custom plans as the main pool's.
const searchSql = createDb(config.DATABASE_URL, { max: config.SEARCH_POOL_SIZE, customPlans: true, statementTimeoutMs: config.SEARCH_STATEMENT_TIMEOUT_MS })
const searchReads = createReplicaReads(searchSql, replica, replicaOptions)
const verifier = createTokenVerifier({
  keys: remoteKeySet(config.AUTH_JWKS_URL),
  issuer: config.JWT_ISSUER,
  audience: config.JWT_AUDIENCE,
  revocations: runtime.revocations,
})

// The server exists only after listen(); delivery looks it up at call time.
let publish: TopicPublish = () => 0
const realtime = await startRealtime({ ...runtime, reads, config }, (topic, data) => publish(topic, data))
const store = createMessageStore(runtime.sql, runtime.log, config, (messages) => void realtime.hub.publishStored(messages))
const deps = {
  ...runtime,
  reads,
  searchReads,
  config,
  verifier,
  users: createUserDirectory(config.USER_INTERNAL_URL, internalToken),
  realtime: {
    membershipEnded: realtime.membershipEnded,
    roomAdded: realtime.roomAdded,
    receiptMoved: realtime.receiptMoved,
    onlineUserIds: realtime.hub.onlineUserIds,
    publishEvents: realtime.hub.publishStored,
  },
}
const ws = wsController(deps, {
  config,
  log: runtime.log,
  verifier,
  hub: realtime.hub,
  presence: realtime.presence,
  store,
  isMember: (roomId, userId) => isMember(runtime.sql, roomId, userId),
  findEndedMemberships: (pairs) => findEndedMemberships(runtime.sql, pairs),
}, realtime.users)
realtime.reportSocketsWith(ws.socketEntries)

const app = createChatApp(deps, ws).listen({ port: config.PORT, hostname: config.HOST, websocket: ws.websocket })
const server = app.server!
// Bun's publish returns bytes written, not receivers; the count is for the delivery metric.
publish = (topic, data) => {
  server.publish(topic, data)
  return server.subscriberCount(topic)
}

runtime.log.info('listening', { port: config.PORT, host: config.HOST, instanceId: realtime.instanceId })
stopOnSignals(runtime, async () => {
  // Stop listening first: reconnecting clients and Caddy's retries then land on another
  // instance, while open sockets keep working until they are closed below.
  const drained = server.stop()
  await ws.closeAllForRestart()
  await withTimeout(drained, STOP_LINGER_MS).catch(() => server.stop(true))
  await ws.cleanedUp()
  await realtime.stop()
  await Promise.allSettled([reads.end(), searchSql.end({ timeout: 5 })])
})
