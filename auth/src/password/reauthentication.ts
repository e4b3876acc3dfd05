import type { Failure } from '@chat/common/errors'
import { createFailureLimiter, createRateLimiter, type FailureLimiter, type RateLimiter } from '@chat/common/limits'
import type { AuthDeps } from '../deps'

export type ReauthResult =
  | { ok: true }
  | { ok: false; reason: 'INVALID_PASSWORD' }
  | { ok: false; reason: 'TOO_MANY_ATTEMPTS'; retryAfterSeconds: number }

/** How the re-authentication lock is answered wherever a password is confirmed. */
export const REAUTH_FAILURES = {
  TOO_MANY_ATTEMPTS: { code: 'TOO_MANY_ATTEMPTS', message: 'Too many password attempts for this account; try again later' },
} satisfies Record<string, Failure>

/**
 * `failures`: wrong current passwords (and wrong two-factor codes) per user. A stolen
 * access token must not become a way to guess the password, so these count per account
 * whatever the IP; they are kept apart from login's counters, so they never lock the owner
 * out of logging in. `checks`: every password checked per user and minute, right ones too,
 * since each is an argon2id verify (tens of ms of CPU, about 20 MiB): knowing one
 * account's password must not buy an unlimited number of them.
 */
export type ReauthLimiter = { failures: FailureLimiter; checks: RateLimiter }

export function createReauthLimiter(deps: Pick<AuthDeps, 'redis' | 'config'>): ReauthLimiter {
  const { REDIS_PREFIX, REAUTH_MAX_FAILURES, REAUTH_FAILURE_WINDOW_SECONDS, REAUTH_MAX_CHECKS_PER_MINUTE } = deps.config
  return {
    failures: createFailureLimiter(deps.redis, { prefix: `${REDIS_PREFIX}auth:reauth-failures:`, max: REAUTH_MAX_FAILURES, windowSeconds: REAUTH_FAILURE_WINDOW_SECONDS }),
    checks: createRateLimiter(deps.redis, { prefix: `${REDIS_PREFIX}auth:reauth-checks:`, max: REAUTH_MAX_CHECKS_PER_MINUTE, windowSeconds: 60 }),
  }
}

/**
 * Confirms a signed-in user's password before a change only the owner may make. While
 * the user is locked even the right password is refused, so guessing gains nothing.
 * `passwordHash` is null when the credential is gone; that costs a dummy check all the same.
 */
export async function reauthenticate(
  deps: Pick<AuthDeps, 'hasher'>,
  limiter: ReauthLimiter,
  userId: string,
  passwordHash: string | null,
  password: string,
): Promise<ReauthResult> {
  // The lock for wrong passwords first, so a locked user is told how long it lasts.
  const locked = await limiter.failures.begin(userId)
  if (!locked.allowed) return { ok: false, reason: 'TOO_MANY_ATTEMPTS', retryAfterSeconds: locked.retryAfterSeconds }
  const check = await limiter.checks.take(userId)
  if (!check.allowed) {
    await limiter.failures.forgive(userId)
    return { ok: false, reason: 'TOO_MANY_ATTEMPTS', retryAfterSeconds: check.retryAfterSeconds }
  }
  const valid = passwordHash === null ? await deps.hasher.verifyAgainstDummy(password) : await deps.hasher.verify(password, passwordHash)
  if (!valid) return { ok: false, reason: 'INVALID_PASSWORD' }
  // Only this attempt is given back: the counter also holds wrong two-factor codes, and a
  // right password must not wipe them, or guesses could be interleaved with it for ever.
  await limiter.failures.forgive(userId)
  return { ok: true }
}
