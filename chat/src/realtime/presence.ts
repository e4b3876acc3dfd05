import type { Redis } from '@chat/common/redis'

const PRESENCE_PREFIX = 'chat:presence:'
const USER_SOCKETS_PREFIX = 'chat:user-sockets:'

/**
 * Who is online where, in Redis, with expiry instead of clean-up: every instance renews
 * its own entries on a heartbeat, so a crashed instance's sockets fall out by themselves
 * within the TTL.
 *
 * - `chat:presence:<room>`: sorted set of `<userId>|<instanceId>`, scored by expiry (ms).
 * - `chat:user-sockets:<userId>`: sorted set of socket ids, scored by expiry (ms), for the
 *   per-user connection limit across instances.
 */
export function createPresence(redis: Redis, instanceId: string, ttlSeconds: number) {
  const expiry = () => Date.now() + ttlSeconds * 1000
  const member = (userId: string) => `${userId}|${instanceId}`

  const onlineUserIds = async (roomId: string): Promise<string[]> => {
    const members = await redis.zRangeByScore(PRESENCE_PREFIX + roomId, Date.now(), '+inf')
    return [...new Set(members.map((m) => m.slice(0, m.indexOf('|'))))]
  }

  return {
    onlineUserIds,

    async isOnline(roomId: string, userId: string): Promise<boolean> {
      return (await onlineUserIds(roomId)).includes(userId)
    },

    async markOnline(roomId: string, userId: string) {
      const key = PRESENCE_PREFIX + roomId
      await redis.multi().zAdd(key, { score: expiry(), value: member(userId) }).expire(key, ttlSeconds * 2).exec()
    },

    async markOffline(roomId: string, userId: string) {
      await redis.zRem(PRESENCE_PREFIX + roomId, member(userId))
    },

    /** Removes expired entries (a crashed instance's) and returns the users they belonged to. */
    async sweepExpired(roomId: string): Promise<string[]> {
      const key = PRESENCE_PREFIX + roomId
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
      const key = USER_SOCKETS_PREFIX + userId
      const [, count] = await redis.multi().zRemRangeByScore(key, '-inf', Date.now()).zCard(key).exec()
      if (Number(count) >= max) return false
      await redis.multi().zAdd(key, { score: expiry(), value: socketId }).expire(key, ttlSeconds * 2).exec()
      return true
    },

    async releaseSocket(userId: string, socketId: string) {
      await redis.zRem(USER_SOCKETS_PREFIX + userId, socketId)
    },

    /** Renews every entry this instance holds, in one round trip. */
    async heartbeat(entries: { rooms: [roomId: string, userId: string][]; sockets: [userId: string, socketId: string][] }) {
      if (entries.rooms.length === 0 && entries.sockets.length === 0) return
      const until = expiry()
      const multi = redis.multi()
      for (const [roomId, userId] of entries.rooms) {
        multi.zAdd(PRESENCE_PREFIX + roomId, { score: until, value: member(userId) }).expire(PRESENCE_PREFIX + roomId, ttlSeconds * 2)
      }
      for (const [userId, socketId] of entries.sockets) {
        multi.zAdd(USER_SOCKETS_PREFIX + userId, { score: until, value: socketId }).expire(USER_SOCKETS_PREFIX + userId, ttlSeconds * 2)
      }
      await multi.exec()
    },
  }
}
export type Presence = ReturnType<typeof createPresence>
