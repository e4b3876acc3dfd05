import type { Logger } from '@chat/common/logger'
import type { RedisClient as Redis, RedisClusterClient } from '@chat/common/redis'
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
  return startChannels<BrokerEvent, Redis>(redis, PLAIN, log, `${redisPrefix}chat:room:`, 'rooms', roomEventCodec)
}

/**
 * Redis pub/sub with one channel per user (`<REDIS_PREFIX>chat:user:<id>`); an instance
 * subscribes to the users that have a socket on it, so an event reaches only those.
 */
export async function startRedisUserBroker(redis: Redis, log: Logger, redisPrefix: string): Promise<UserBroker> {
  return startChannels<UserEvent, Redis>(redis, PLAIN, log, `${redisPrefix}chat:user:`, 'users', jsonCodec<UserEvent>())
}

type Listener = (message: string, channel: string) => void

/**
 * The pub/sub commands a set of channels uses: plain SUBSCRIBE/PUBLISH on one Redis,
 * sharded SSUBSCRIBE/SPUBLISH on a cluster (broker.redis-sharded.ts).
 */
export type ChannelCommands<R extends Redis | RedisClusterClient> = {
  subscribe(subscriber: R, channel: string, listener: Listener): Promise<unknown>
  unsubscribe(subscriber: R, channel: string, listener: Listener): Promise<unknown>
  publish(redis: R, channel: string, message: string): Promise<unknown>
}

const PLAIN: ChannelCommands<Redis> = {
  subscribe: (subscriber, channel, listener) => subscriber.subscribe(channel, listener),
  unsubscribe: (subscriber, channel, listener) => subscriber.unsubscribe(channel, listener),
  publish: (redis, channel, message) => redis.publish(channel, message),
}

/** One channel per id under `channelPrefix`, its events in `codec`'s form, on `commands`. */
export async function startChannels<E extends { kind: string }, R extends Redis | RedisClusterClient>(
  redis: R,
  commands: ChannelCommands<R>,
  log: Logger,
  channelPrefix: string,
  role: string,
  codec: BrokerCodec<E>,
) {
  const { subscriber, onReconnect, stop } = await startRedisSubscriber(redis, log, role)
  const handlers: ((id: string, event: E) => void)[] = []

  const listener: Listener = (message, channel) => {
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
    subscribe: async (id: string) => void (await commands.subscribe(subscriber, channelPrefix + id, listener)),
    unsubscribe: async (id: string) => void (await commands.unsubscribe(subscriber, channelPrefix + id, listener)),
    async publish(id: string, event: E) {
      await commands.publish(redis, channelPrefix + id, codec.encode(event)).catch((error) => {
        brokerPublishErrors.inc({ kind: event.kind })
        throw error
      })
    },
    onEvent: (handler: (id: string, event: E) => void) => void handlers.push(handler),
    onReconnect,
    stop,
  }
}
