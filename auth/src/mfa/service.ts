import type { TransactionSql } from 'postgres'
import { isForeignKeyViolation } from '@chat/common/db'
import { countInWindow, createFailureLimiter, ipLimitKey, type FailureLimiter } from '@chat/common/limits'
import type { AuthDeps } from '../deps'
import { queueMail } from '../mail/outbox'
import type { ClientInfo, TokenPair } from '../sessions/model'
import { generateRefreshToken, hashRefreshToken } from '../sessions/refresh-token'
import { announceRevocations, createSession, revokeSessionsWithin } from '../sessions/service'
import type { MfaChallenge } from './model'
import { generateRecoveryCodes, generateTotpSecret, hashRecoveryCode, isTotpCode, legacyRecoveryCodeHash, matchTotpStep, openSecret, otpauthUrl, sealSecret } from './totp'

type MfaDeps = Pick<AuthDeps, 'sql' | 'redis' | 'config' | 'log' | 'mfaKey' | 'mailer'>

type FactorRow = { secret_sealed: Buffer; confirmed_at: Date | null }
type UsernameRow = { username: string }
type IdentityRow = { username: string; email: string }
type ChallengeRow = { user_id: string }
type OkRow = { ok: 1 }

export type CodeFailure = { ok: false; reason: 'INVALID_CODE' } | { ok: false; reason: 'TOO_MANY_ATTEMPTS'; retryAfterSeconds: number }

/**
 * Wrong codes from anywhere per client IP, on top of the per-user re-authentication limit
 * (which wrong codes count against too): one IP trying codes for many accounts whose
 * passwords it holds.
 */
export function createMfaIpLimiter(deps: Pick<AuthDeps, 'redis' | 'config'>): FailureLimiter {
  return createFailureLimiter(deps.redis, {
    prefix: `${deps.config.REDIS_PREFIX}auth:mfa-failures:ip:`,
    max: deps.config.MFA_MAX_FAILURES_PER_IP,
    windowSeconds: deps.config.LOGIN_FAILURE_WINDOW_SECONDS,
  })
}

export async function isTotpEnabled(deps: Pick<AuthDeps, 'sql'>, userId: string): Promise<boolean> {
  const [row] = await deps.sql<OkRow[]>`select 1 as ok from auth.totp_factors where user_id = ${userId} and confirmed_at is not null`
  return row !== undefined
}

export type StartEnrolmentResult = { ok: true; secret: string; otpauthUrl: string } | { ok: false; reason: 'ALREADY_ENABLED' | 'NO_CREDENTIAL' }

/**
 * Starts (or restarts) a TOTP enrolment with a fresh secret, stored sealed. Nothing changes
 * for login until the enrolment is confirmed with a code; a user whose TOTP is already on
 * must disable it first, so a stolen access token cannot replace the owner's factor.
 */
export async function startTotpEnrolment(deps: MfaDeps, userId: string): Promise<StartEnrolmentResult> {
  const [credential] = await deps.sql<UsernameRow[]>`select username from auth.credentials where user_id = ${userId}`
  if (credential === undefined) return { ok: false, reason: 'NO_CREDENTIAL' }
  const secret = generateTotpSecret()
  try {
    const [stored] = await deps.sql<OkRow[]>`
      insert into auth.totp_factors (user_id, secret_sealed) values (${userId}, ${sealSecret(deps.mfaKey, userId, secret)})
      on conflict (user_id) do update set secret_sealed = excluded.secret_sealed, created_at = now()
        where auth.totp_factors.confirmed_at is null
      returning 1 as ok`
    if (stored === undefined) return { ok: false, reason: 'ALREADY_ENABLED' }
  } catch (error) {
    if (isForeignKeyViolation(error)) return { ok: false, reason: 'NO_CREDENTIAL' }
    throw error
  }
  return { ok: true, secret, otpauthUrl: otpauthUrl(secret, deps.config.MFA_ISSUER, credential.username) }
}

export type ConfirmEnrolmentResult = { ok: true; recoveryCodes: string[] } | { ok: false; reason: 'NOT_PENDING' } | CodeFailure

/**
 * Turns TOTP on once a code proves the app holds the secret. That code's step counts as
 * used; ten recovery codes replace any earlier ones and are returned this once (only their
 * hashes are kept); every other session of the user is revoked, since it was opened
 * without the second factor.
 */
export async function confirmTotpEnrolment(
  deps: MfaDeps,
  limiter: FailureLimiter,
  userId: string,
  currentSessionId: string,
  code: string,
): Promise<ConfirmEnrolmentResult> {
  const [factor] = await deps.sql<FactorRow[]>`select secret_sealed, confirmed_at from auth.totp_factors where user_id = ${userId}`
  if (factor === undefined || factor.confirmed_at !== null) return { ok: false, reason: 'NOT_PENDING' }
  const check = await limiter.begin(userId)
  if (!check.allowed) return { ok: false, reason: 'TOO_MANY_ATTEMPTS', retryAfterSeconds: check.retryAfterSeconds }
  const step = matchTotpStep(openSealedSecret(deps, userId, factor.secret_sealed), code)
  if (step === null) return { ok: false, reason: 'INVALID_CODE' }
  const recoveryCodes = generateRecoveryCodes()
  const revoked = await deps.sql.begin(async (tx) => {
    const [row] = await tx<OkRow[]>`
      update auth.totp_factors set confirmed_at = now(), last_used_step = ${step}
      where user_id = ${userId} and confirmed_at is null and secret_sealed = ${factor.secret_sealed}
      returning 1 as ok`
    if (row === undefined) return null
    // A login whose password check is under way now opens no session (see createSession).
    const [identity] = await tx<IdentityRow[]>`update auth.credentials set updated_at = now() where user_id = ${userId} returning username, email`
    await tellOwner(tx, userId, identity, true)
    // Hex text: postgres.js sends an array of Buffers as one bytea, not as bytea[].
    await tx`
      with cleared as (delete from auth.recovery_codes where user_id = ${userId})
      insert into auth.recovery_codes (user_id, code_hash)
      select ${userId}, decode(hash, 'hex') from unnest(${recoveryCodes.map((code) => hashRecoveryCode(deps.mfaKey, userId, code).toString('hex'))}::text[]) as hash`
    // Sessions opened without the second factor end with this change.
    return revokeSessionsWithin(tx, userId, currentSessionId, 'mfa-enabled', deps.config.ACCESS_TOKEN_TTL_SECONDS)
  })
  // Another confirmation or a restarted enrolment got there first: this code proved an older secret.
  if (revoked === null) return { ok: false, reason: 'NOT_PENDING' }
  deps.mailer.wake()
  await limiter.forgive(userId)
  await announceRevocations(deps, revoked, 'mfa-enabled')
  return { ok: true, recoveryCodes }
}

export type DisableResult = { ok: true } | { ok: false; reason: 'NOT_ENABLED' } | CodeFailure

/**
 * Turns TOTP off, and drops the recovery codes and running challenges, for a valid TOTP or
 * recovery code. The owner is mailed: the contract asks only a code, which a thief holding
 * an access token and one leaked recovery code has, and a silent change would leave the
 * account behind the password alone without anyone knowing.
 */
export async function disableTotp(deps: MfaDeps, limiter: FailureLimiter, userId: string, code: string): Promise<DisableResult> {
  if (!(await isTotpEnabled(deps, userId))) return { ok: false, reason: 'NOT_ENABLED' }
  const check = await limiter.begin(userId)
  if (!check.allowed) return { ok: false, reason: 'TOO_MANY_ATTEMPTS', retryAfterSeconds: check.retryAfterSeconds }
  if (!(await spendSecondFactor(deps, userId, code))) return { ok: false, reason: 'INVALID_CODE' }
  await deps.sql.begin(async (tx) => {
    // Nothing to tell when a concurrent disable took the factor away first.
    const [identity] = await tx<IdentityRow[]>`
      with factor as (delete from auth.totp_factors where user_id = ${userId} returning 1),
           codes as (delete from auth.recovery_codes where user_id = ${userId}),
           challenges as (delete from auth.mfa_challenges where user_id = ${userId})
      select username, email from auth.credentials where user_id = ${userId} and exists (select from factor)`
    await tellOwner(tx, userId, identity, false)
  })
  deps.mailer.wake()
  await limiter.forgive(userId)
  return { ok: true }
}

/** Queues the "two-factor was turned on/off" mail with the change, unless the account is gone meanwhile. */
async function tellOwner(tx: TransactionSql, userId: string, identity: IdentityRow | undefined, enabled: boolean) {
  if (identity === undefined) return
  await queueMail(tx, { userId, kind: 'two_factor_changed', to: identity.email, data: { username: identity.username, enabled } })
}

/**
 * Opens the step between password and code: a random mfaToken, only its hash stored,
 * valid MFA_TOKEN_TTL_SECONDS. The user's finished challenges are cleared on the way, so
 * each user keeps at most the few that are still running. `checkedAt` is the credential's
 * `updated_at` when the password was checked (see createSession). Answers null, and opens
 * nothing, when the account was deleted, or its password or factors changed, since.
 */
export async function createMfaChallenge(deps: Pick<AuthDeps, 'sql' | 'config'>, userId: string, checkedAt: string): Promise<MfaChallenge | null> {
  const token = generateRefreshToken()
  const ttl = deps.config.MFA_TOKEN_TTL_SECONDS
  // Locked `for share` like createSession's: a deletion or change of the credential under
  // way is waited for, and then the credential is not found (no challenge), never a
  // foreign-key failure.
  const opened = await deps.sql`
    with finished as (
      delete from auth.mfa_challenges where user_id = ${userId} and (spent_at is not null or expires_at <= now())
    )
    insert into auth.mfa_challenges (token_hash, user_id, expires_at, credential_checked_at)
    select ${hashRefreshToken(token)}, c.user_id, now() + make_interval(secs => ${ttl}), c.updated_at
    from auth.credentials c
    where c.user_id = ${userId} and c.updated_at = ${checkedAt}::text::timestamptz
    for share of c`
  return opened.count === 0 ? null : { mfaRequired: true, mfaToken: token, expiresIn: ttl }
}

export type VerifyChallengeResult = { ok: true; pair: TokenPair } | { ok: false; reason: 'INVALID_TOKEN' } | CodeFailure

/** `wrongCodes`: see createWrongCodeCounter. */
export type VerifyLimiters = { reauth: FailureLimiter; perIp: FailureLimiter; wrongCodes: WrongCodeCounter }

/** Counts a user's wrong login codes and answers how many there were in the current window. */
export type WrongCodeCounter = (userId: string) => Promise<number>

/**
 * Wrong login codes per user in a fixed window of MFA_WRONG_CODES_NOTICE_INTERVAL_SECONDS,
 * whichever mfaTokens they came with (one login per few guesses must not stay below it).
 */
export function createWrongCodeCounter(deps: Pick<AuthDeps, 'redis' | 'config'>): WrongCodeCounter {
  const { REDIS_PREFIX, MFA_WRONG_CODES_NOTICE_INTERVAL_SECONDS } = deps.config
  return async (userId) => (await countInWindow(deps.redis, `${REDIS_PREFIX}auth:mfa-wrong-codes:${userId}`, MFA_WRONG_CODES_NOTICE_INTERVAL_SECONDS)).count
}

/**
 * Wrong codes come after the right password: whoever typed them has it. The owner is told
 * once the window's count reaches MFA_MAX_CODE_FAILURES, so at most once per window (an
 * attacker trying codes would otherwise fill the mailbox and bury the warning). A failure
 * here is logged, never the answer to the code.
 */
async function warnOfWrongCodes(deps: MfaDeps, userId: string, codes: number) {
  try {
    const [identity] = await deps.sql<IdentityRow[]>`select username, email from auth.credentials where user_id = ${userId}`
    if (identity === undefined) return
    await queueMail(deps.sql, { userId, kind: 'wrong_two_factor_codes', to: identity.email, data: { username: identity.username, codes } })
    deps.mailer.wake()
  } catch (error) {
    deps.log.warn('the wrong two-factor codes warning could not be queued', { error })
  }
}

/**
 * Finishes a login with the second factor. Each try is counted on the challenge before
 * the code is checked, in one conditional update, so guesses sent together get no more
 * than MFA_MAX_CODE_FAILURES between them; the challenge is spent by the first right code.
 * No password is checked here: the login that opened the challenge did that.
 */
export async function verifyMfaChallenge(
  deps: MfaDeps & Pick<AuthDeps, 'signAccessToken'>,
  limiters: VerifyLimiters,
  mfaToken: string,
  code: string,
  client: ClientInfo & { ip: string },
): Promise<VerifyChallengeResult> {
  const hash = hashRefreshToken(mfaToken)
  const max = deps.config.MFA_MAX_CODE_FAILURES
  const [open] = await deps.sql<(ChallengeRow & { checked_at: string | null })[]>`
    select user_id, credential_checked_at::text as checked_at from auth.mfa_challenges
    where token_hash = ${hash} and spent_at is null and expires_at > now() and attempts < ${max}`
  if (open === undefined) return { ok: false, reason: 'INVALID_TOKEN' }
  const userId = open.user_id
  const ipKey = ipLimitKey(client.ip)
  const [user, ip] = await Promise.all([limiters.reauth.begin(userId), limiters.perIp.begin(ipKey)])
  if (!user.allowed || !ip.allowed) {
    await Promise.all([user.allowed && limiters.reauth.forgive(userId), ip.allowed && limiters.perIp.forgive(ipKey)])
    const refused = user.allowed ? ip : user
    return { ok: false, reason: 'TOO_MANY_ATTEMPTS', retryAfterSeconds: refused.allowed ? 1 : refused.retryAfterSeconds }
  }
  const [counted] = await deps.sql<ChallengeRow[]>`
    update auth.mfa_challenges set attempts = attempts + 1
    where token_hash = ${hash} and spent_at is null and expires_at > now() and attempts < ${max}
    returning user_id`
  if (counted === undefined) {
    await Promise.all([limiters.reauth.forgive(userId), limiters.perIp.forgive(ipKey)])
    return { ok: false, reason: 'INVALID_TOKEN' }
  }
  if (!(await spendSecondFactor(deps, userId, code))) {
    if ((await limiters.wrongCodes(userId)) === max) await warnOfWrongCodes(deps, userId, max)
    return { ok: false, reason: 'INVALID_CODE' }
  }
  await Promise.all([limiters.reauth.forgive(userId), limiters.perIp.forgive(ipKey)])
  const [spent] = await deps.sql<OkRow[]>`
    update auth.mfa_challenges set spent_at = now() where token_hash = ${hash} and spent_at is null returning 1 as ok`
  if (spent === undefined) return { ok: false, reason: 'INVALID_TOKEN' }
  // Refused when the password or factors changed since the login checked the password.
  const session = await createSession(deps, userId, client, open.checked_at ?? undefined)
  if (!session.ok) return { ok: false, reason: 'INVALID_TOKEN' }
  return { ok: true, pair: session.pair }
}

/**
 * Accepts a TOTP code of a step after the last one used, or an unused recovery code, and
 * marks it used in the same conditional update: of two requests with one code, one wins.
 */
async function spendSecondFactor(deps: MfaDeps, userId: string, code: string): Promise<boolean> {
  if (!isTotpCode(code)) {
    // Its keyed hash, or the plain one codes handed out before were stored with.
    const hashes = [hashRecoveryCode(deps.mfaKey, userId, code), legacyRecoveryCodeHash(code)].map((hash) => hash.toString('hex'))
    const [used] = await deps.sql<OkRow[]>`
      update auth.recovery_codes set used_at = now()
      where user_id = ${userId} and code_hash = any(select decode(h, 'hex') from unnest(${hashes}::text[]) as h) and used_at is null
      returning 1 as ok`
    return used !== undefined
  }
  const [factor] = await deps.sql<FactorRow[]>`
    select secret_sealed, confirmed_at from auth.totp_factors where user_id = ${userId} and confirmed_at is not null`
  if (factor === undefined) return false
  const step = matchTotpStep(openSealedSecret(deps, userId, factor.secret_sealed), code)
  if (step === null) return false
  const [used] = await deps.sql<OkRow[]>`
    update auth.totp_factors set last_used_step = ${step}
    where user_id = ${userId} and confirmed_at is not null and last_used_step < ${step}
    returning 1 as ok`
  return used !== undefined
}

/** A secret that does not open means MFA_ENCRYPTION_KEY changed: an operator's error, not the user's. */
function openSealedSecret(deps: Pick<AuthDeps, 'mfaKey'>, userId: string, sealed: Buffer): string {
  const secret = openSecret(deps.mfaKey, userId, sealed)
  if (secret === null) throw new Error('a TOTP secret does not open with MFA_ENCRYPTION_KEY (was the key changed?)')
  return secret
}

/**
 * After the password changed (a change or a reset, in its transaction): a login that got
 * past the old password and waits for its code opens nothing.
 */
export async function dropMfaChallenges(tx: TransactionSql, userId: string): Promise<void> {
  await tx`delete from auth.mfa_challenges where user_id = ${userId}`
}
