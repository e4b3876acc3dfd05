import type { Logger } from '@chat/common/logger'
import type { RedisClient as Redis } from '@chat/common/redis'
import { brokerPublishErrors } from '../metrics'
import { jsonCodec } from './broker'
import type { UserBroker, UserEvent } from './user-broker'
import { startRedisSubscriber } from './subscriber.redis'

/**
 * Redis pub/sub with one channel per user (`<REDIS_PREFIX>chat:user:<id>`); an instance
 * subscribes to the users that have a socket on it, so an event reaches only those.
 */
export async function startRedisUserBroker(redis: Redis, log: Logger, redisPrefix: string): Promise<UserBroker> {
  const channelPrefix = `${redisPrefix}chat:user:`
  const { subscriber, onReconnect, stop } = await startRedisSubscriber(redis, log, 'users')
  const handlers: ((userId: string, event: UserEvent) => void)[] = []
  const codec = jsonCodec<UserEvent>()

  const listener = (message: string, channel: string) => {
    let event: UserEvent
    try {
      event = codec.decode(message)
    } catch (error) {
      log.warn('bad user event', { channel, error })
      return
    }
    const userId = channel.slice(channelPrefix.length)
    for (const handler of handlers) handler(userId, event)
  }

  return {
    subscribe: (userId) => subscriber.subscribe(channelPrefix + userId, listener),
    unsubscribe: (userId) => subscriber.unsubscribe(channelPrefix + userId, listener),
    async publish(userId, event) {
      await redis.publish(channelPrefix + userId, codec.encode(event)).catch((error) => {
        brokerPublishErrors.inc({ kind: event.kind })
        throw error
      })
    },
    onEvent: (handler) => void handlers.push(handler),
    onReconnect,
    stop,
  }
}
