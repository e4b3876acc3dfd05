import type { Failure } from '@chat/common/errors'
import { createFailureLimiter, type FailureLimiter } from '@chat/common/limits'
import type { AuthDeps } from '../deps'

export type ReauthResult =
  | { ok: true }
  | { ok: false; reason: 'INVALID_PASSWORD' }
  | { ok: false; reason: 'TOO_MANY_ATTEMPTS'; retryAfterSeconds: number }

/** How the re-authentication lock is answered wherever a password is confirmed. */
export const REAUTH_FAILURES = {
  TOO_MANY_ATTEMPTS: { code: 'TOO_MANY_ATTEMPTS', message: 'Too many wrong passwords for this account; try again later' },
} satisfies Record<string, Failure>

/**
 * Wrong current passwords per user. A stolen access token must not become a way to guess
 * the password, so these count per account whatever the IP; they are kept apart from
 * login's counters, so they never lock the owner out of logging in.
 */
export function createReauthLimiter(deps: Pick<AuthDeps, 'redis' | 'config'>): FailureLimiter {
  return createFailureLimiter(deps.redis, {
    prefix: `${deps.config.REDIS_PREFIX}auth:reauth-failures:`,
    max: deps.config.REAUTH_MAX_FAILURES,
    windowSeconds: deps.config.REAUTH_FAILURE_WINDOW_SECONDS,
  })
}

/**
 * Confirms a signed-in user's password before a change only the owner may make. While
 * the user is locked even the right password is refused, so guessing gains nothing.
 * `passwordHash` is null when the credential is gone; that costs a dummy check all the same.
 */
export async function reauthenticate(
  deps: Pick<AuthDeps, 'hasher'>,
  limiter: FailureLimiter,
  userId: string,
  passwordHash: string | null,
  password: string,
): Promise<ReauthResult> {
  const check = await limiter.begin(userId)
  if (!check.allowed) return { ok: false, reason: 'TOO_MANY_ATTEMPTS', retryAfterSeconds: check.retryAfterSeconds }
  const valid = passwordHash === null ? await deps.hasher.verifyAgainstDummy(password) : await deps.hasher.verify(password, passwordHash)
  if (!valid) return { ok: false, reason: 'INVALID_PASSWORD' }
  // Only this attempt is given back: the counter also holds wrong two-factor codes, and a
  // right password must not wipe them, or guesses could be interleaved with it for ever.
  await limiter.forgive(userId)
  return { ok: true }
}
