import type { Logger } from '@chat/common/logger'
import { isCluster, type Redis } from '@chat/common/redis'
import type { ChatConfig } from '../config'
import type { Sql } from '@chat/common/db'
import type { LeftReason } from '@chat/common/chat-protocol'
import type { ReplicaReads } from '../replica'
import { startRedisBroker, startRedisUserBroker } from './broker.redis'
import { startShardedRoomBroker, startShardedUserBroker } from './broker.redis-sharded'
import { createHub, type TopicPublish } from './hub'
import { createPresence } from './presence'
import { createReceiptRelay } from './receipts'

/** How often presence entries are renewed. */
const MAINTENANCE_INTERVAL_MS = 5000
/**
 * How often stored seqs are compared with the feeds: the longest a message stored by an
 * instance that died before publishing it waits to reach the other instances' sockets.
 */
const RECONCILE_INTERVAL_MS = 1000

/** Wires the brokers, presence and hub of one chat instance and runs their upkeep. */
export async function startRealtime(deps: { config: ChatConfig; log: Logger; sql: Sql; reads: ReplicaReads; redis: Redis }, publish: TopicPublish) {
  const instanceId = crypto.randomUUID()
  const prefix = deps.config.REDIS_PREFIX
  // A cluster gets sharded pub/sub (fan-out grows with its shards); a single Redis keeps
  // plain pub/sub, which costs the same there and works on Redis before 7 too.
  const [broker, users] = isCluster(deps.redis)
    ? await Promise.all([startShardedRoomBroker(deps.redis, deps.log, prefix), startShardedUserBroker(deps.redis, deps.log, prefix)])
    : await Promise.all([startRedisBroker(deps.redis, deps.log, prefix), startRedisUserBroker(deps.redis, deps.log, prefix)])
  const presence = createPresence(deps.redis, instanceId, deps.config.PRESENCE_TTL_SECONDS, prefix)
  const hub = createHub(deps, broker, presence, publish)
  const receipts = createReceiptRelay(broker, publish, deps.config.RECEIPT_FLUSH_MS)
  let socketEntries: () => [string, string][] = () => []

  const interval = Math.min(MAINTENANCE_INTERVAL_MS, (deps.config.PRESENCE_TTL_SECONDS * 1000) / 3)
  const timers = [
    setInterval(() => hub.maintainPresence(socketEntries()).catch((error) => deps.log.debug('presence upkeep failed', { error })), interval),
    setInterval(() => hub.reconcile().catch((error) => deps.log.debug('reconcile failed', { error })), RECONCILE_INTERVAL_MS),
  ]

  return {
    instanceId,
    hub,
    presence,
    users,
    membershipEnded: (roomId: string, userId: string, reason: LeftReason) => users.publish(userId, { kind: 'membership-ended', room: roomId, reason }),
    roomAdded: (roomId: string, userId: string) => users.publish(userId, { kind: 'room-added', room: roomId }),
    receiptMoved: receipts.moved,
    /** The ws layer tells which sockets this instance holds, for the heartbeat. */
    reportSocketsWith(list: () => [string, string][]) {
      socketEntries = list
    },
    async stop() {
      for (const timer of timers) clearInterval(timer)
      receipts.stop()
      await Promise.all([broker.stop(), users.stop()])
    },
  }
}
