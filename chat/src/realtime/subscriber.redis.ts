import type { Logger } from '@chat/common/logger'
import type { Redis } from '@chat/common/redis'

/**
 * A pub/sub connection of its own, shared by nothing else. node-redis re-subscribes by
 * itself after a reconnect; `onReconnect` handlers then learn that events may have been
 * missed meanwhile.
 */
export async function startRedisSubscriber(redis: Redis, log: Logger, role: string) {
  // Unlike the command client, the subscriber queues while disconnected: a SUBSCRIBE
  // issued during an outage is sent on reconnect instead of being lost.
  const subscriber = redis.duplicate({ disableOfflineQueue: false })
  const reconnectHandlers: (() => void)[] = []
  let lostConnection = false
  subscriber.on('error', () => {
    lostConnection = true
  })
  subscriber.on('ready', () => {
    if (!lostConnection) return
    lostConnection = false
    log.info('broker reconnected', { role })
    for (const handler of reconnectHandlers) handler()
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
