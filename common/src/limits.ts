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
 * The key a per-IP limit counts a client under: an IPv4 address as it is (also when written
 * IPv4-mapped, `::ffff:a.b.c.d`), an IPv6 address by its /64, the smallest block a single
 * subscriber is usually given, so one client cannot hop between its 2^64 addresses to get a
 * fresh count each time.
 */
export function ipLimitKey(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip)
  if (mapped !== null) return mapped[1]
  if (!ip.includes(':')) return ip
  const address = ip.split('%')[0].toLowerCase()
  const groupsOf = (part: string) => (part === '' ? [] : part.split(':'))
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined]
  const headGroups = groupsOf(head)
  // An embedded IPv4 address (`64:ff9b::192.0.2.1`) fills two groups.
  const tailGroups = groupsOf(tail ?? '').flatMap((group) => (group.includes('.') ? [group, group] : [group]))
  const zeros = tail === undefined ? [] : Array<string>(Math.max(0, 8 - headGroups.length - tailGroups.length)).fill('0')
  const prefix = [...headGroups, ...zeros, ...tailGroups].slice(0, 4).map((group) => (Number.parseInt(group, 16) || 0).toString(16))
  return `${prefix.join(':')}::/64`
}

/**
 * Counts one more under `key` in a fixed window that starts at the first count (one round
 * trip): the count so far and the milliseconds left in the window.
 */
export async function countInWindow(redis: Redis, key: string, windowSeconds: number): Promise<{ count: number; ttlMs: number }> {
  const [count, , ttl] = await redis.multi().incr(key).expire(key, windowSeconds, 'NX').pTTL(key).exec()
  return { count: Number(count), ttlMs: Number(ttl) }
}

/** DECR that never creates the key: one that expired meanwhile stays gone (no negative count without a TTL). */
const DECREMENT_IF_PRESENT = "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end return 0"

/**
 * Counts failures per key in a fixed window that starts at the first failure; reaching
 * `max` locks the key until the window ends. An attempt is counted as a failure in one
 * atomic step before the password is checked (`begin`), so guesses sent together cannot
 * all pass a check made before any of them failed; one that turns out not to be a failure
 * is given back (`forgive`) or clears the count (`reset`). So a user who types the right
 * password is never slowed down until the limit is reached.
 */
export function createFailureLimiter(redis: Redis, options: WindowOptions) {
  const keyOf = (key: string) => `${options.prefix}${key}`
  const forgive = async (key: string): Promise<void> => {
    await redis.eval(DECREMENT_IF_PRESENT, { keys: [keyOf(key)] })
  }
  return {
    /** Counts the attempt as a failure; refused (and not counted) once `max` failures are. */
    async begin(key: string): Promise<LimitCheck> {
      const { count, ttlMs } = await countInWindow(redis, keyOf(key), options.windowSeconds)
      if (count <= options.max) return { allowed: true }
      await forgive(key)
      return { allowed: false, retryAfterSeconds: retryAfter(ttlMs) }
    },
    /** An attempt counted by `begin` that was not a failure after all. */
    forgive,
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
      const { count, ttlMs } = await countInWindow(redis, keyOf(key), options.windowSeconds)
      if (count <= options.max) return { allowed: true }
      return { allowed: false, retryAfterSeconds: retryAfter(ttlMs) }
    },
  }
}
export type RateLimiter = ReturnType<typeof createRateLimiter>
