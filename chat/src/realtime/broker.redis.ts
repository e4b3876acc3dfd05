import type { Logger } from '@chat/common/logger'
import type { RedisClient as Redis } from '@chat/common/redis'
import { brokerPublishErrors } from '../metrics'
import { roomEventCodec, type BrokerEvent, type RoomBroker } from './broker'
import { startRedisSubscriber } from './subscriber.redis'

/**
 * Redis pub/sub with one channel per room (`<REDIS_PREFIX>chat:room:<id>`); an instance
 * subscribes only to the rooms its sockets have joined. After a reconnect the hub is told,
 * so it catches up from Postgres.
 */
export async function startRedisBroker(redis: Redis, log: Logger, redisPrefix: string): Promise<RoomBroker> {
  const channelPrefix = `${redisPrefix}chat:room:`
  const { subscriber, onReconnect, stop } = await startRedisSubscriber(redis, log, 'rooms')
  const handlers: ((roomId: string, event: BrokerEvent) => void)[] = []

  const listener = (message: string, channel: string) => {
    let event: BrokerEvent
    try {
      event = roomEventCodec.decode(message)
    } catch (error) {
      log.warn('bad room event', { channel, error })
      return
    }
    const roomId = channel.slice(channelPrefix.length)
    for (const handler of handlers) handler(roomId, event)
  }

  return {
    subscribe: (roomId) => subscriber.subscribe(channelPrefix + roomId, listener),
    unsubscribe: (roomId) => subscriber.unsubscribe(channelPrefix + roomId, listener),
    async publish(roomId, event) {
      await redis.publish(channelPrefix + roomId, roomEventCodec.encode(event)).catch((error) => {
        brokerPublishErrors.inc({ kind: event.kind })
        throw error
      })
    },
    onEvent: (handler) => void handlers.push(handler),
    onReconnect,
    stop,
  }
}
