import type { Redis } from '@chat/common/redis'

export type LimitCheck = { allowed: true } | { allowed: false; retryAfterSeconds: number }

/**
 * Counts failures per key in a fixed window that starts at the first failure. Only
 * failures count, so a user who types the right password is never slowed down until the
 * limit is reached; reaching it locks the key until the window ends.
 */
export function createFailureLimiter(redis: Redis, options: { prefix: string; max: number; windowSeconds: number }) {
  const keyOf = (key: string) => `${options.prefix}${key}`
  return {
    async check(key: string): Promise<LimitCheck> {
      const [count, ttl] = await redis.multi().get(keyOf(key)).pTTL(keyOf(key)).exec()
      if (Number(count ?? 0) < options.max) return { allowed: true }
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(Number(ttl) / 1000)) }
    },
    async recordFailure(key: string): Promise<void> {
      await redis.multi().incr(keyOf(key)).expire(keyOf(key), options.windowSeconds, 'NX').exec()
    },
    async reset(key: string): Promise<void> {
      await redis.del(keyOf(key))
    },
  }
}
export type FailureLimiter = ReturnType<typeof createFailureLimiter>
