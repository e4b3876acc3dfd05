import { createHash } from 'node:crypto'
import type { Sql } from '@chat/common/db'
import { randomToken } from '@chat/common/dev-secrets'
import { createFailureLimiter, ipLimitKey, type FailureLimiter } from '@chat/common/limits'
import type { TransactionSql } from 'postgres'
import type { AuthDeps } from '../deps'

/** What a mailed token lets its holder do; one token, one purpose. */
export type TokenPurpose = 'verify_email' | 'reset_password'

/** Only this is stored: a leaked table gives no usable link. Lookup is by hash, so no comparison leaks timing. */
export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token).digest()
}

/** The token as mailed: 32 random bytes, base64url. */
export function generateToken(): string {
  return randomToken(32)
}

type SpentRow = { user_id: string; email: string }

/**
 * Stores a new token for the user's current address (in the caller's transaction) and
 * returns it, for the mail only. Earlier unused tokens of the same purpose stay valid
 * until they expire: a user may open the first of two mails.
 */
export async function createToken(tx: TransactionSql | Sql, userId: string, email: string, purpose: TokenPurpose, ttlSeconds: number): Promise<string> {
  const token = generateToken()
  await tx`
    insert into auth.email_tokens (token_hash, user_id, purpose, email, expires_at)
    values (${hashToken(token)}, ${userId}, ${purpose}, ${email}, now() + make_interval(secs => ${ttlSeconds}))`
  return token
}

/**
 * Spends a token in the caller's transaction: only if it has this purpose, is unused and
 * unexpired, and the account's email is still the address it was sent to (a link mailed
 * to a former address opens nothing). The conditional update makes one of two concurrent
 * uses the winner. Null for anything else, all alike: unknown, tampered, expired or used.
 */
export async function spendToken(tx: TransactionSql, token: string, purpose: TokenPurpose): Promise<SpentRow | null> {
  const [row] = await tx<SpentRow[]>`
    update auth.email_tokens t set used_at = now()
    from auth.credentials c
    where t.token_hash = ${hashToken(token)} and t.purpose = ${purpose} and t.used_at is null and t.expires_at > now()
      and c.user_id = t.user_id and lower(c.email) = lower(t.email)
    returning t.user_id, t.email`
  return row ?? null
}

/** After a reset, the other reset links of the user open nothing either. */
export async function spendOtherTokens(tx: TransactionSql, userId: string, purpose: TokenPurpose): Promise<void> {
  await tx`update auth.email_tokens set used_at = now() where user_id = ${userId} and purpose = ${purpose} and used_at is null`
}

/**
 * Wrong tokens per client IP, for both links. A token cannot be guessed, but a client
 * sending token after token is probing rather than opening a mail.
 */
export function createTokenFailureLimiter(deps: Pick<AuthDeps, 'redis' | 'config'>): FailureLimiter {
  return createFailureLimiter(deps.redis, {
    prefix: `${deps.config.REDIS_PREFIX}auth:token-failures:ip:`,
    max: deps.config.MAILED_TOKEN_MAX_FAILURES_PER_IP,
    windowSeconds: deps.config.MAILED_TOKEN_FAILURE_WINDOW_SECONDS,
  })
}

/** How both routes that take a mailed token answer a client IP past MAILED_TOKEN_MAX_FAILURES_PER_IP (429 with Retry-After). */
export const TOKENS_LIMITED = { code: 'RATE_LIMITED', message: 'Too many invalid links from this address; try again later' } as const

export type TokenLimited = { ok: false; reason: 'RATE_LIMITED'; retryAfterSeconds: number }

/**
 * Runs a use of a mailed token under the per-IP limit: counted before it runs (so tries
 * sent together cannot all pass), given back unless the token opened nothing.
 */
export async function useTokenLimited<R extends { ok: boolean; reason?: string }>(limiter: FailureLimiter, clientIp: string, use: () => Promise<R>): Promise<R | TokenLimited> {
  const key = ipLimitKey(clientIp)
  const check = await limiter.begin(key)
  if (!check.allowed) return { ok: false, reason: 'RATE_LIMITED', retryAfterSeconds: check.retryAfterSeconds }
  let opened = true
  try {
    const result = await use()
    opened = result.reason !== 'INVALID_TOKEN'
    return result
  } finally {
    if (opened) await limiter.forgive(key)
  }
}
