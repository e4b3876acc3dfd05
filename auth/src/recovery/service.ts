import { createHash } from 'node:crypto'
import { createRateLimiter, ipLimitKey, type RateLimiter } from '@chat/common/limits'
import { findPasswordWeakness } from '@chat/common/passwords'
import type { AuthDeps } from '../deps'
import { validMinutes } from '../email/service'
import { queueMail } from '../mail/outbox'
import { generateToken, hashToken, spendOtherTokens, spendToken } from '../mail/tokens'
import { announceRevocations, listActiveSessionIds, recordRevocations } from '../sessions/service'

type QueuedRow = { queued: number }
type ResetTargetRow = { user_id: string; username: string; email: string }

export type ForgotLimiters = { perIp: RateLimiter; perAddress: RateLimiter }

export function createForgotLimiters(deps: Pick<AuthDeps, 'redis' | 'config'>): ForgotLimiters {
  const { config } = deps
  return {
    perIp: createRateLimiter(deps.redis, {
      prefix: `${config.REDIS_PREFIX}auth:forgot:ip:`,
      max: config.FORGOT_MAX_PER_IP,
      windowSeconds: config.FORGOT_IP_WINDOW_SECONDS,
    }),
    perAddress: createRateLimiter(deps.redis, {
      prefix: `${config.REDIS_PREFIX}auth:forgot:address:`,
      max: config.FORGOT_MAX_PER_ADDRESS,
      windowSeconds: config.FORGOT_ADDRESS_WINDOW_SECONDS,
    }),
  }
}

export type ForgotResult = { ok: true } | { ok: false; reason: 'RATE_LIMITED'; retryAfterSeconds: number }

/**
 * Queues a reset mail if the address belongs to an account. The answer must not tell
 * whether it does, by its content or its timing, so both cases do the same work: the
 * per-address count (kept under a hash of the address, for every address asked about), then
 * one statement that inserts the token and the mail for whichever account has the address,
 * which is none for an unknown one. Nothing is sent inline; the worker sends it.
 */
export async function requestPasswordReset(deps: Pick<AuthDeps, 'sql' | 'config' | 'mailer'>, limiters: ForgotLimiters, email: string, clientIp: string): Promise<ForgotResult> {
  const byIp = await limiters.perIp.take(ipLimitKey(clientIp))
  if (!byIp.allowed) return { ok: false, reason: 'RATE_LIMITED', retryAfterSeconds: byIp.retryAfterSeconds }
  const address = email.toLowerCase()
  // Over the per-address limit the request is answered alike and sends nothing more.
  const byAddress = await limiters.perAddress.take(createHash('sha256').update(address).digest('base64url'))
  if (!byAddress.allowed) return { ok: true }
  const ttl = deps.config.RESET_PASSWORD_TOKEN_TTL_SECONDS
  const token = generateToken()
  const [{ queued }] = await deps.sql<QueuedRow[]>`
    with account as (
      select user_id, username, email from auth.credentials where lower(email) = ${address}
    ), token as (
      insert into auth.email_tokens (token_hash, user_id, purpose, email, expires_at)
      select ${hashToken(token)}, user_id, 'reset_password', email, now() + make_interval(secs => ${ttl}) from account
    ), mail as (
      insert into auth.outbox (user_id, kind, recipient, data)
      select user_id, 'reset_password', email,
             jsonb_build_object('username', username, 'token', ${token}::text, 'validMinutes', ${validMinutes(ttl)}::int)
      from account
      returning 1
    )
    select count(*)::int as queued from mail`
  if (queued > 0) deps.mailer.wake()
  return { ok: true }
}

export type ResetResult = { ok: true } | { ok: false; reason: 'INVALID_TOKEN' } | { ok: false; reason: 'WEAK_PASSWORD'; why: string }

/**
 * Sets a new password with a token from a reset mail. The token is spent, with the other
 * reset links of the account, in the transaction that stores the new hash, revokes every
 * session (its sockets close like at any revocation) and queues the "password changed"
 * mail; a token that opens nothing changes nothing. The weakness check and the (slow)
 * hashing run before the transaction, so it holds no lock while hashing.
 */
export async function resetPassword(deps: Pick<AuthDeps, 'sql' | 'redis' | 'config' | 'log' | 'hasher' | 'mailer'>, token: string, newPassword: string): Promise<ResetResult> {
  const [target] = await deps.sql<ResetTargetRow[]>`
    select c.user_id, c.username, c.email from auth.email_tokens t join auth.credentials c on c.user_id = t.user_id
    where t.token_hash = ${hashToken(token)} and t.purpose = 'reset_password' and t.used_at is null and t.expires_at > now()
      and lower(c.email) = lower(t.email)`
  if (target === undefined) return { ok: false, reason: 'INVALID_TOKEN' }
  const why = findPasswordWeakness(newPassword, target)
  if (why !== null) return { ok: false, reason: 'WEAK_PASSWORD', why }
  const hash = await deps.hasher.hash(newPassword)
  const revoked = await deps.sql.begin(async (tx) => {
    // Spent by a concurrent reset meanwhile: this one loses, and changes nothing.
    if ((await spendToken(tx, token, 'reset_password')) === null) return null
    await spendOtherTokens(tx, target.user_id, 'reset_password')
    await tx`update auth.credentials set password_hash = ${hash}, updated_at = now() where user_id = ${target.user_id}`
    const sessionIds = await listActiveSessionIds(tx, target.user_id)
    if (sessionIds.length > 0) await recordRevocations(tx, sessionIds, 'password-changed', deps.config.ACCESS_TOKEN_TTL_SECONDS)
    await queueMail(tx, { userId: target.user_id, kind: 'password_changed', to: target.email, data: { username: target.username } })
    return sessionIds
  })
  if (revoked === null) return { ok: false, reason: 'INVALID_TOKEN' }
  deps.mailer.wake()
  if (revoked.length > 0) await announceRevocations(deps, revoked, 'password-changed')
  return { ok: true }
}
