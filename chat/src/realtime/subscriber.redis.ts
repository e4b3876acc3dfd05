import type { Logger } from '@chat/common/logger'
import { duplicateForPubSub, onConnectionChange, type Redis } from '@chat/common/redis'

/**
 * A pub/sub connection of its own (on a cluster, one per node it subscribes on), shared by
 * nothing else. node-redis re-subscribes by itself after a reconnect, and on a cluster
 * moves sharded subscriptions to the new master of their slot after a failover;
 * `onReconnect` handlers then learn that events may have been missed meanwhile.
 */
export async function startRedisSubscriber<R extends Redis>(redis: R, log: Logger, role: string) {
  // Unlike the command client, the subscriber queues while disconnected: a SUBSCRIBE
  // issued during an outage is sent on reconnect instead of being lost.
  const subscriber = duplicateForPubSub(redis)
  const reconnectHandlers: (() => void)[] = []
  onConnectionChange(subscriber, {
    lost: () => {},
    restored() {
      log.info('broker reconnected', { role })
      for (const handler of reconnectHandlers) handler()
    },
  })
  await subscriber.connect()
  return {
    subscriber,
    onReconnect: (handler: () => void) => void reconnectHandlers.push(handler),
    async stop() {
      await subscriber.quit().catch(() => {})
    },
  }
}
