import type { Redis } from './redis'

export type LimitCheck = { allowed: true } | { allowed: false; retryAfterSeconds: number }

type WindowOptions = {
  /** Put before every key: REDIS_PREFIX and the limit's own name, e.g. `auth:login-failures:pair:`. */
  prefix: string
  max: number
  windowSeconds: number
}

const retryAfter = (ttlMs: unknown) => Math.max(1, Math.ceil(Number(ttlMs) / 1000))

/**
 * Counts failures per key in a fixed window that starts at the first failure. Only
 * failures count, so a user who types the right password is never slowed down until the
 * limit is reached; reaching it locks the key until the window ends.
 */
export function createFailureLimiter(redis: Redis, options: WindowOptions) {
  const keyOf = (key: string) => `${options.prefix}${key}`
  return {
    async check(key: string): Promise<LimitCheck> {
      const [count, ttl] = await redis.multi().get(keyOf(key)).pTTL(keyOf(key)).exec()
      if (Number(count ?? 0) < options.max) return { allowed: true }
      return { allowed: false, retryAfterSeconds: retryAfter(ttl) }
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

/**
 * Counts every attempt per key in a fixed window that starts at the first one, in one
 * round trip: the attempt over `max` is refused with the time left in the window.
 */
export function createRateLimiter(redis: Redis, options: WindowOptions) {
  const keyOf = (key: string) => `${options.prefix}${key}`
  return {
    async take(key: string): Promise<LimitCheck> {
      const [count, , ttl] = await redis.multi().incr(keyOf(key)).expire(keyOf(key), options.windowSeconds, 'NX').pTTL(keyOf(key)).exec()
      if (Number(count) <= options.max) return { allowed: true }
      return { allowed: false, retryAfterSeconds: retryAfter(ttl) }
    },
  }
}
export type RateLimiter = ReturnType<typeof createRateLimiter>
