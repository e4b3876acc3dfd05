/**
 * Token bucket: `capacity` sends at once, refilled continuously at `perSecond`.
 * Time is passed in so the logic is testable without clocks.
 */
export function createTokenBucket(capacity: number, perSecond: number, now = performance.now()) {
  let tokens = capacity
  let updatedAt = now
  return {
    take(at = performance.now()): boolean {
      tokens = Math.min(capacity, tokens + ((at - updatedAt) / 1000) * perSecond)
      updatedAt = at
      if (tokens < 1) return false
      tokens -= 1
      return true
    },
  }
}

/** Counts events in a sliding window; `record` answers whether the limit is now exceeded. */
export function createWindowCounter(limit: number, windowMs: number) {
  const times: number[] = []
  return {
    record(at = performance.now()): boolean {
      times.push(at)
      while (times.length > 0 && times[0] <= at - windowMs) times.shift()
      return times.length >= limit
    },
  }
}
