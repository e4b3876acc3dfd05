import type { ChatConfig } from '../config'
import { createTokenBucket } from './limits'

/** After the RATE_LIMITED warning, this many more refused sends close the socket with 4429. */
const RATE_LIMIT_GRACE = 100
/** A warning is forgotten once sends pass again this long after it, so a later flood is warned again first. */
const RATE_WARNING_RESET_MS = 1000
/** Typing events are forwarded at most this often per socket and room. */
const TYPING_MIN_INTERVAL_MS = 1000

/** What to do with one `send`: store it, refuse it with the RATE_LIMITED warning, refuse it silently, or close the socket. */
export type SendVerdict = 'accept' | 'warn' | 'refuse' | 'close'

/**
 * One socket's pacing of what it sends: the token bucket with one warning before the
 * close, a bucket for joins and leaves, and the typing throttle. Time is passed in so it is testable without clocks.
 */
export function createSendPolicy(settings: Pick<ChatConfig, 'SEND_BURST' | 'SEND_PER_SECOND' | 'JOIN_BURST' | 'JOIN_PER_SECOND'>, now = performance.now()) {
  const bucket = createTokenBucket(settings.SEND_BURST, settings.SEND_PER_SECOND, now)
  const joins = createTokenBucket(settings.JOIN_BURST, settings.JOIN_PER_SECOND, now)
  let warnedAt: number | null = null
  let refusedAfterWarning = 0
  const lastTyping = new Map<string, number>()
  return {
    checkSend(at = performance.now()): SendVerdict {
      if (bucket.take(at)) {
        if (warnedAt !== null && at - warnedAt > RATE_WARNING_RESET_MS) warnedAt = null
        return 'accept'
      }
      if (warnedAt === null) {
        warnedAt = at
        refusedAfterWarning = 0
        return 'warn'
      }
      return ++refusedAfterWarning > RATE_LIMIT_GRACE ? 'close' : 'refuse'
    },
    /** True when a `join` or `leave` may be handled now (else it is refused with RATE_LIMITED). */
    allowsJoinOrLeave: (at = performance.now()): boolean => joins.take(at),
    /** True when a typing event for the room may be forwarded now. */
    allowsTyping(roomId: string, at = performance.now()): boolean {
      if (at - (lastTyping.get(roomId) ?? -Infinity) < TYPING_MIN_INTERVAL_MS) return false
      lastTyping.set(roomId, at)
      return true
    },
  }
}

/**
 * Why a message body is refused, or null. Postgres cannot store NUL, and an unpaired
 * UTF-16 surrogate would be stored as U+FFFD: the same rule REST applies to text
 * (PLAIN_TEXT_PATTERN in common/src/schemas.ts), whose break is answered 422 there.
 */
export function bodyProblem(body: string, maxChars: number): string | null {
  if (body.length === 0) return 'The body is empty'
  if (body.length > maxChars && [...body].length > maxChars) return `The body is longer than ${maxChars} characters`
  if (body.includes('\u0000')) return 'The body contains a NUL character'
  if (!body.isWellFormed()) return 'The body contains an unpaired UTF-16 surrogate'
  return null
}
