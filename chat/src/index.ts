import { join } from 'node:path'
import { bootService, stopOnSignals } from '@chat/common/boot'
import { resolveInternalToken } from '@chat/common/dev-secrets'
import { createTokenVerifier, remoteKeySet } from '@chat/common/tokens'
import { createChatApp } from './app'
import { loadChatConfig } from './config'
import { createMessageStore } from './messages/store'
import { startRealtime } from './realtime'
import { isMember } from './rooms/membership'
import { createUserDirectory } from './users-client'
import { wsController } from './ws'

const config = loadChatConfig()
const internalToken = resolveInternalToken(config)
const runtime = await bootService('chat', config, 'chat', join(import.meta.dir, '..', 'migrations'))
const verifier = createTokenVerifier({
  keys: remoteKeySet(config.AUTH_JWKS_URL),
  issuer: config.JWT_ISSUER,
  audience: config.JWT_AUDIENCE,
  revocations: runtime.revocations,
})

// The server exists only after listen(); delivery looks it up at call time.
let publish: (topic: string, data: string) => void = () => {}
const realtime = await startRealtime({ ...runtime, config }, (topic, data) => publish(topic, data))
const store = createMessageStore(runtime.sql, runtime.log, config.STORE_BATCH_MAX, (messages) => void realtime.hub.publishStored(messages))
const deps = {
  ...runtime,
  config,
  verifier,
  users: createUserDirectory(config.USER_INTERNAL_URL, internalToken),
  realtime: { memberLeft: realtime.hub.memberLeft, onlineUserIds: realtime.hub.onlineUserIds },
}
const ws = wsController(deps, {
  config,
  log: runtime.log,
  verifier,
  hub: realtime.hub,
  presence: realtime.presence,
  store,
  isMember: (roomId, userId) => isMember(runtime.sql, roomId, userId),
})
realtime.reportSocketsWith(ws.socketEntries)

const app = createChatApp(deps, ws).listen({ port: config.PORT, hostname: config.HOST })
publish = (topic, data) => void app.server?.publish(topic, data)

runtime.log.info('listening', { port: config.PORT, host: config.HOST, instanceId: realtime.instanceId })
stopOnSignals(runtime, async () => {
  ws.closeAllForRestart()
  await app.stop()
  await realtime.stop()
})
