import type { Logger } from '@chat/common/logger'
import type { RedisClusterClient } from '@chat/common/redis'
import { jsonCodec, roomEventCodec, type BrokerEvent, type RoomBroker } from './broker'
import { startChannels, type ChannelCommands } from './broker.redis'
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
  return startChannels<BrokerEvent, RedisClusterClient>(redis, SHARDED, log, `${redisPrefix}chat:room:`, 'rooms', roomEventCodec)
}

/** One sharded channel per user (`<REDIS_PREFIX>chat:user:<id>`); see startShardedRoomBroker. */
export async function startShardedUserBroker(redis: RedisClusterClient, log: Logger, redisPrefix: string): Promise<UserBroker> {
  return startChannels<UserEvent, RedisClusterClient>(redis, SHARDED, log, `${redisPrefix}chat:user:`, 'users', jsonCodec<UserEvent>())
}

const SHARDED: ChannelCommands<RedisClusterClient> = {
  subscribe: (subscriber, channel, listener) => subscriber.sSubscribe(channel, listener),
  unsubscribe: (subscriber, channel, listener) => subscriber.sUnsubscribe(channel, listener),
  publish: (redis, channel, message) => redis.sPublish(channel, message),
}
