import type { Logger } from '@chat/common/logger'
import type { RedisClient as Redis } from '@chat/common/redis'
import { brokerPublishErrors } from '../metrics'
import { jsonCodec, roomEventCodec, type BrokerCodec, type BrokerEvent, type RoomBroker } from './broker'
import { startRedisSubscriber } from './subscriber.redis'
import type { UserBroker, UserEvent } from './user-broker'

/**
 * Redis pub/sub with one channel per room (`<REDIS_PREFIX>chat:room:<id>`); an instance
 * subscribes only to the rooms its sockets have joined. After a reconnect the hub is told,
 * so it catches up from Postgres.
 */
export async function startRedisBroker(redis: Redis, log: Logger, redisPrefix: string): Promise<RoomBroker> {
  return startChannels<BrokerEvent>(redis, log, `${redisPrefix}chat:room:`, 'rooms', roomEventCodec)
}

/**
 * Redis pub/sub with one channel per user (`<REDIS_PREFIX>chat:user:<id>`); an instance
 * subscribes to the users that have a socket on it, so an event reaches only those.
 */
export async function startRedisUserBroker(redis: Redis, log: Logger, redisPrefix: string): Promise<UserBroker> {
  return startChannels<UserEvent>(redis, log, `${redisPrefix}chat:user:`, 'users', jsonCodec<UserEvent>())
}

async function startChannels<E extends { kind: string }>(redis: Redis, log: Logger, channelPrefix: string, role: string, codec: BrokerCodec<E>) {
  const { subscriber, onReconnect, stop } = await startRedisSubscriber(redis, log, role)
  const handlers: ((id: string, event: E) => void)[] = []

  const listener = (message: string, channel: string) => {
    let event: E
    try {
      event = codec.decode(message)
    } catch (error) {
      log.warn('bad broker event', { channel, error })
      return
    }
    const id = channel.slice(channelPrefix.length)
    for (const handler of handlers) handler(id, event)
  }

  return {
    subscribe: (id: string) => subscriber.subscribe(channelPrefix + id, listener),
    unsubscribe: (id: string) => subscriber.unsubscribe(channelPrefix + id, listener),
    async publish(id: string, event: E) {
      await redis.publish(channelPrefix + id, codec.encode(event)).catch((error) => {
        brokerPublishErrors.inc({ kind: event.kind })
        throw error
      })
    },
    onEvent: (handler: (id: string, event: E) => void) => void handlers.push(handler),
    onReconnect,
    stop,
  }
}
