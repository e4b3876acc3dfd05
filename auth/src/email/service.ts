import type { RateLimiter } from '@chat/common/limits'
import { createRateLimiter } from '@chat/common/limits'
import type { Sql } from '@chat/common/db'
import type { TransactionSql } from 'postgres'
import type { AuthDeps } from '../deps'
import { queueMail } from '../mail/outbox'
import { sealMailToken } from '../mail/sealed-token'
import { createToken, spendToken } from '../mail/tokens'

type IdentityRow = { username: string; email: string; verified: boolean }

/** Thrown inside the verification transaction to roll it back: the token stays unspent. */
class Abort extends Error {
  constructor(readonly reason: 'INVALID_TOKEN' | 'UNAVAILABLE') {
    super(reason)
  }
}

export const validMinutes = (seconds: number) => Math.max(1, Math.round(seconds / 60))

/**
 * Creates a verification token for the user's (new) address and queues its mail, in the
 * caller's transaction: registration, email change and resend all come through here.
 */
export async function queueVerificationMail(
  tx: TransactionSql | Sql,
  deps: Pick<AuthDeps, 'config' | 'mailTokenKey'>,
  user: { userId: string; username: string; email: string },
): Promise<void> {
  const ttl = deps.config.VERIFY_EMAIL_TOKEN_TTL_SECONDS
  const token = sealMailToken(deps.mailTokenKey, 'verify_email', await createToken(tx, user.userId, user.email, 'verify_email', ttl))
  await queueMail(tx, { userId: user.userId, kind: 'verify_email', to: user.email, data: { username: user.username, token, validMinutes: validMinutes(ttl) } })
}

export type VerifyEmailResult = { ok: true } | { ok: false; reason: 'INVALID_TOKEN' | 'UNAVAILABLE' }

/**
 * Spends the token and marks the address verified, here and in the user service (which
 * shows `emailVerified`). The user service is called inside the transaction: if it cannot
 * be reached, everything rolls back and the link still works on the next try.
 */
export async function verifyEmail(deps: Pick<AuthDeps, 'sql' | 'users'>, token: string, requestId?: string): Promise<VerifyEmailResult> {
  try {
    await deps.sql.begin(async (tx) => {
      const spent = await spendToken(tx, token, 'verify_email')
      if (spent === null) throw new Abort('INVALID_TOKEN')
      await tx`update auth.credentials set email_verified_at = now() where user_id = ${spent.user_id}`
      const marked = await deps.users.markEmailVerified(spent.user_id, spent.email, requestId)
      if (marked === 'unavailable') throw new Abort('UNAVAILABLE')
      // The profile moved on to another address meanwhile (auth's copy had not yet): this link is stale.
      if (marked === 'stale') throw new Abort('INVALID_TOKEN')
    })
    return { ok: true }
  } catch (error) {
    if (error instanceof Abort) return { ok: false, reason: error.reason }
    throw error
  }
}

export type ResendResult = { ok: true } | { ok: false; reason: 'RATE_LIMITED'; retryAfterSeconds: number }

/** A signed-in user asking for another verification mail; counted per user, whatever the outcome. */
export function createResendLimiter(deps: Pick<AuthDeps, 'redis' | 'config'>): RateLimiter {
  return createRateLimiter(deps.redis, {
    prefix: `${deps.config.REDIS_PREFIX}auth:verify-resend:user:`,
    max: deps.config.VERIFY_RESEND_MAX_PER_USER,
    windowSeconds: deps.config.VERIFY_RESEND_WINDOW_SECONDS,
  })
}

/** Queues a new verification mail, unless the address is verified already (then nothing is sent). */
export async function resendVerification(deps: Pick<AuthDeps, 'sql' | 'config' | 'mailer' | 'mailTokenKey'>, limiter: RateLimiter, userId: string): Promise<ResendResult> {
  const allowed = await limiter.take(userId)
  if (!allowed.allowed) return { ok: false, reason: 'RATE_LIMITED', retryAfterSeconds: allowed.retryAfterSeconds }
  const queued = await deps.sql.begin(async (tx) => {
    const [row] = await tx<IdentityRow[]>`
      select username, email, email_verified_at is not null as verified from auth.credentials where user_id = ${userId} for update`
    if (row === undefined || row.verified) return false
    await queueVerificationMail(tx, deps, { userId, username: row.username, email: row.email })
    return true
  })
  if (queued) deps.mailer.wake()
  return { ok: true }
}
