import { createHash } from 'node:crypto'
import { createRateLimiter, ipLimitKey, type RateLimiter } from '@chat/common/limits'
import { findPasswordWeakness } from '@chat/common/passwords'
import type { AuthDeps } from '../deps'
import { validMinutes } from '../email/service'
import { queueMail, type OutboxRow } from '../mail/outbox'
import { sealMailToken } from '../mail/sealed-token'
import { generateToken, hashToken, spendToken } from '../mail/tokens'
import { storeNewPassword } from '../password/service'
import { announceRevocations } from '../sessions/service'

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
 * Asks for a reset mail to the address. The answer must not tell whether an account has
 * it, by its content or its timing, so the request does exactly the same work either way:
 * the per-address count (kept under a hash of the address, for every address asked about)
 * and one insert of the request into the outbox. Whether an account has the address is
 * found out later, by the worker (`resolveResetRequest`), away from the answer.
 */
export async function requestPasswordReset(deps: Pick<AuthDeps, 'sql' | 'mailer'>, limiters: ForgotLimiters, email: string, clientIp: string): Promise<ForgotResult> {
  const byIp = await limiters.perIp.take(ipLimitKey(clientIp))
  if (!byIp.allowed) return { ok: false, reason: 'RATE_LIMITED', retryAfterSeconds: byIp.retryAfterSeconds }
  const address = email.toLowerCase()
  // Over the per-address limit the request is answered alike and sends nothing more.
  const byAddress = await limiters.perAddress.take(createHash('sha256').update(address).digest('base64url'))
  if (!byAddress.allowed) return { ok: true }
  await queueMail(deps.sql, { userId: null, kind: 'reset_request', to: address, data: {} })
  deps.mailer.wake()
  return { ok: true }
}

/**
 * Turns a claimed reset request into the reset mail, in one statement: for the account
 * with the address (if any) it stores a new token and rewrites the row into a
 * `reset_password` mail to the account's address; the token's life starts now. Null when
 * no account has the address: the caller drops the row, and nothing is sent.
 */
export async function resolveResetRequest(deps: Pick<AuthDeps, 'sql' | 'config' | 'mailTokenKey'>, row: OutboxRow): Promise<OutboxRow | null> {
  const { sql, config } = deps
  const ttl = config.RESET_PASSWORD_TOKEN_TTL_SECONDS
  const token = generateToken()
  const [resolved] = await sql<OutboxRow[]>`
    with account as (
      select user_id, username, email from auth.credentials where lower(email) = lower(${row.recipient})
    ), token as (
      insert into auth.email_tokens (token_hash, user_id, purpose, email, expires_at)
      select ${hashToken(token)}, user_id, 'reset_password', email, now() + make_interval(secs => ${ttl}) from account
    )
    update auth.outbox o
    set user_id = a.user_id, kind = 'reset_password', recipient = a.email,
        data = jsonb_build_object('username', a.username, 'token', ${sealMailToken(deps.mailTokenKey, 'reset_password', token)}::text, 'validMinutes', ${validMinutes(ttl)}::int)
    from account a
    where o.id = ${row.id}
    returning o.id, o.kind, o.recipient, o.data, o.attempts`
  return resolved ?? null
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
    return storeNewPassword(tx, deps.config, { userId: target.user_id, username: target.username, email: target.email }, hash, null)
  })
  if (revoked === null) return { ok: false, reason: 'INVALID_TOKEN' }
  deps.mailer.wake()
  await announceRevocations(deps, revoked, 'password-changed')
  return { ok: true }
}
