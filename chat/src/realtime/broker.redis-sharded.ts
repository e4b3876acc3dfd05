import type { Logger } from '@chat/common/logger'
import type { RedisClusterClient } from '@chat/common/redis'
import { brokerPublishErrors } from '../metrics'
import { jsonCodec, roomEventCodec, type BrokerCodec, type BrokerEvent, type RoomBroker } from './broker'
import { startRedisSubscriber } from './subscriber.redis'
import type { UserBroker, UserEvent } from './user-broker'

/**
 * The room and user brokers on a Redis Cluster, with sharded pub/sub (SPUBLISH /
 * SSUBSCRIBE, Redis 7): a channel lives on the shard that owns its slot, so a message
 * travels only to the instances subscribed there, through that shard alone. Plain PUBLISH
 * on a cluster is copied to every node over the cluster bus, so adding shards would add
 * no fan-out capacity. Same channels and guarantees as broker.redis.ts (rooms and
 * users): at most once, in publish order per publisher; a failover loses
 * what was in flight, and the hub's catch-up from Postgres (after `onReconnect`, and its
 * periodic check) fills the gap.
 */
export async function startShardedRoomBroker(redis: RedisClusterClient, log: Logger, redisPrefix: string): Promise<RoomBroker> {
  return startShardedChannels<BrokerEvent>(redis, log, `${redisPrefix}chat:room:`, 'rooms', roomEventCodec)
}

/** One sharded channel per user (`<REDIS_PREFIX>chat:user:<id>`); see startShardedRoomBroker. */
export async function startShardedUserBroker(redis: RedisClusterClient, log: Logger, redisPrefix: string): Promise<UserBroker> {
  return startShardedChannels<UserEvent>(redis, log, `${redisPrefix}chat:user:`, 'users', jsonCodec<UserEvent>())
}

async function startShardedChannels<E extends { kind: string }>(redis: RedisClusterClient, log: Logger, channelPrefix: string, role: string, codec: BrokerCodec<E>) {
  const { subscriber: sharded, onReconnect, stop } = await startRedisSubscriber(redis, log, role)
  const handlers: ((id: string, event: E) => void)[] = []

  const listener = (message: string, channel: string) => {
    let event: E
    try {
      event = codec.decode(message)
    } catch (error) {
      log.warn('bad sharded event', { channel, error })
      return
    }
    const id = channel.slice(channelPrefix.length)
    for (const handler of handlers) handler(id, event)
  }

  return {
    subscribe: async (id: string) => void (await sharded.sSubscribe(channelPrefix + id, listener)),
    unsubscribe: async (id: string) => void (await sharded.sUnsubscribe(channelPrefix + id, listener)),
    async publish(id: string, event: E) {
      await redis.sPublish(channelPrefix + id, codec.encode(event)).catch((error) => {
        brokerPublishErrors.inc({ kind: event.kind })
        throw error
      })
    },
    onEvent: (handler: (id: string, event: E) => void) => void handlers.push(handler),
    onReconnect,
    stop,
  }
}
