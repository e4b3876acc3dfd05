import type { Redis } from '@chat/common/redis'

/**
 * The per-user socket limit in one atomic step on the user's one key, so sockets opened at
 * the same moment cannot all pass the count before any is added (one key per call keeps it
 * valid on Redis Cluster). KEYS[1] the user's set; ARGV now, expiry, socket id, max, key TTL.
 */
const ADMIT_SOCKET_SCRIPT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1`

/**
 * Who is online where, in Redis, with expiry instead of clean-up: every instance renews
 * its own entries on a heartbeat, so a crashed instance's sockets fall out by themselves
 * within the TTL.
 *
 * - `<REDIS_PREFIX>chat:presence:<room>`: sorted set of `<userId>|<instanceId>`, scored by expiry (ms).
 * - `<REDIS_PREFIX>chat:user-sockets:<userId>`: sorted set of socket ids, scored by expiry
 *   (ms), for the per-user connection limit across instances.
 */
export function createPresence(redis: Redis, instanceId: string, ttlSeconds: number, redisPrefix: string) {
  const presencePrefix = `${redisPrefix}chat:presence:`
  const userSocketsPrefix = `${redisPrefix}chat:user-sockets:`
  const expiry = () => Date.now() + ttlSeconds * 1000
  const member = (userId: string) => `${userId}|${instanceId}`

  const onlineUserIds = async (roomId: string): Promise<string[]> => {
    const members = await redis.zRangeByScore(presencePrefix + roomId, Date.now(), '+inf')
    return [...new Set(members.map((m) => m.slice(0, m.indexOf('|'))))]
  }

  return {
    onlineUserIds,

    async isOnline(roomId: string, userId: string): Promise<boolean> {
      return (await onlineUserIds(roomId)).includes(userId)
    },

    async markOnline(roomId: string, userId: string) {
      const key = presencePrefix + roomId
      await redis.multi().zAdd(key, { score: expiry(), value: member(userId) }).expire(key, ttlSeconds * 2).exec()
    },

    async markOffline(roomId: string, userId: string) {
      await redis.zRem(presencePrefix + roomId, member(userId))
    },

    /** Removes expired entries (a crashed instance's) and returns the users they belonged to. */
    async sweepExpired(roomId: string): Promise<string[]> {
      const key = presencePrefix + roomId
      const expired = await redis.zRangeByScore(key, '-inf', Date.now())
      const gone: string[] = []
      for (const entry of expired) {
        // Only the instance whose ZREM removed the entry reports it, so it is reported once.
        if ((await redis.zRem(key, entry)) === 1) gone.push(entry.slice(0, entry.indexOf('|')))
      }
      return gone
    },

    /** Registers a socket if the user is under the limit; false when the user already has `max`. */
    async admitSocket(userId: string, socketId: string, max: number): Promise<boolean> {
      const args = [String(Date.now()), String(expiry()), socketId, String(max), String(ttlSeconds * 2)]
      return (await redis.eval(ADMIT_SOCKET_SCRIPT, { keys: [userSocketsPrefix + userId], arguments: args })) === 1
    },

    async releaseSocket(userId: string, socketId: string) {
      await redis.zRem(userSocketsPrefix + userId, socketId)
    },

    /**
     * Renews every entry this instance holds. One MULTI per key (keys of many rooms and
     * users lie on different slots of a Redis Cluster); sent together, they still share one
     * round trip per Redis node.
     */
    async heartbeat(entries: { rooms: [roomId: string, userId: string][]; sockets: [userId: string, socketId: string][] }) {
      const until = expiry()
      const renew = (key: string, value: string) => redis.multi().zAdd(key, { score: until, value }).expire(key, ttlSeconds * 2).exec()
      await Promise.all([
        ...entries.rooms.map(([roomId, userId]) => renew(presencePrefix + roomId, member(userId))),
        ...entries.sockets.map(([userId, socketId]) => renew(userSocketsPrefix + userId, socketId)),
      ])
    },
  }
}
export type Presence = ReturnType<typeof createPresence>
