import type { Logger } from '@chat/common/logger'
import type { Redis } from '@chat/common/redis'
import { brokerPublishErrors } from '../metrics'
import type { RoomBroker, RoomEvent } from './broker'

const CHANNEL_PREFIX = 'chat:room:'

/**
 * Redis pub/sub with one channel per room; an instance subscribes only to the rooms its
 * sockets have joined. node-redis re-subscribes by itself after a reconnect; we then tell
 * the hub so it catches up from Postgres.
 */
export async function startRedisBroker(redis: Redis, log: Logger): Promise<RoomBroker> {
  // Unlike the command client, the subscriber queues while disconnected: a SUBSCRIBE
  // issued during an outage is sent on reconnect instead of being lost.
  const subscriber = redis.duplicate({ disableOfflineQueue: false })
  const handlers: ((roomId: string, event: RoomEvent) => void)[] = []
  const reconnectHandlers: (() => void)[] = []
  let lostConnection = false
  subscriber.on('error', () => {
    lostConnection = true
  })
  subscriber.on('ready', () => {
    if (!lostConnection) return
    lostConnection = false
    log.info('room broker reconnected')
    for (const handler of reconnectHandlers) handler()
  })
  await subscriber.connect()

  const listener = (message: string, channel: string) => {
    let event: RoomEvent
    try {
      event = JSON.parse(message)
    } catch (error) {
      log.warn('bad room event', { channel, error })
      return
    }
    const roomId = channel.slice(CHANNEL_PREFIX.length)
    for (const handler of handlers) handler(roomId, event)
  }

  return {
    subscribe: (roomId) => subscriber.subscribe(CHANNEL_PREFIX + roomId, listener),
    unsubscribe: (roomId) => subscriber.unsubscribe(CHANNEL_PREFIX + roomId, listener),
    async publish(roomId, event) {
      await redis.publish(CHANNEL_PREFIX + roomId, JSON.stringify(event)).catch((error) => {
        brokerPublishErrors.inc({ kind: event.kind })
        throw error
      })
    },
    onEvent: (handler) => void handlers.push(handler),
    onReconnect: (handler) => void reconnectHandlers.push(handler),
    async stop() {
      await subscriber.quit().catch(() => {})
    },
  }
}
