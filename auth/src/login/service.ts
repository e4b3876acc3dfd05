import { createHash } from 'node:crypto'
import { createFailureLimiter, createRateLimiter, ipLimitKey } from '@chat/common/limits'
import type { AuthDeps } from '../deps'
import type { ClientInfo, TokenPair } from '../sessions/model'
import type { MfaChallenge } from '../mfa/model'
import { createMfaChallenge } from '../mfa/service'
import { createSession } from '../sessions/service'
import type { LoginBody } from './model'

export type LoginResult =
  | { ok: true; pair: TokenPair }
  | { ok: true; challenge: MfaChallenge }
  | { ok: false; reason: 'INVALID_CREDENTIALS' }
  | { ok: false; reason: 'TOO_MANY_ATTEMPTS'; retryAfterSeconds: number }

export type LoginLimiters = ReturnType<typeof createLoginLimiters>

/** `checked_at`: the credential's updated_at as Postgres prints it (see createSession). */
type CredentialRow = { user_id: string; password_hash: string; checked_at: string; mfa: boolean }

/**
 * Two failure limits: per (login, client IP), so a stranger elsewhere cannot lock the
 * owner out, and per client IP across logins, against credential stuffing. And one on every
 * login per client IP, right or wrong, against a flood of password checks.
 */
export function createLoginLimiters(deps: Pick<AuthDeps, 'redis' | 'config'>) {
  const { config } = deps
  const windowSeconds = config.LOGIN_FAILURE_WINDOW_SECONDS
  return {
    perLoginAndIp: createFailureLimiter(deps.redis, {
      prefix: `${config.REDIS_PREFIX}auth:login-failures:pair:`,
      max: config.LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_IP,
      windowSeconds,
    }),
    perIp: createFailureLimiter(deps.redis, {
      prefix: `${config.REDIS_PREFIX}auth:login-failures:ip:`,
      max: config.LOGIN_MAX_FAILURES_PER_IP,
      windowSeconds,
    }),
    attemptsPerIp: createRateLimiter(deps.redis, {
      prefix: `${config.REDIS_PREFIX}auth:logins:ip:`,
      max: config.LOGIN_MAX_PER_IP_PER_MINUTE,
      windowSeconds: 60,
    }),
  }
}

/**
 * Checks a password and opens a session, or, for a user with two-factor on, a challenge
 * that POST /auth/mfa/verify finishes without checking the password again (one argon2id
 * verify per login). Unknown logins and wrong passwords take the same path (a dummy
 * argon2id verify) and get the same answer.
 */
export async function login(
  deps: Pick<AuthDeps, 'sql' | 'redis' | 'config' | 'log' | 'hasher' | 'signAccessToken'>,
  limiters: LoginLimiters,
  body: LoginBody,
  client: ClientInfo & { ip: string },
): Promise<LoginResult> {
  const ipKey = ipLimitKey(client.ip)
  // Before anything else, and not a failure: the failure counts stay as they are.
  const attempt = await limiters.attemptsPerIp.take(ipKey)
  if (!attempt.allowed) return { ok: false, reason: 'TOO_MANY_ATTEMPTS', retryAfterSeconds: attempt.retryAfterSeconds }
  const login = body.login.trim().toLowerCase()
  const [credential] = await deps.sql<CredentialRow[]>`
    select c.user_id, c.password_hash, c.updated_at::text as checked_at, t.confirmed_at is not null as mfa
    from auth.credentials c left join auth.totp_factors t on t.user_id = c.user_id
    where lower(c.username) = ${login} or lower(c.email) = ${login}
    limit 1`
  const pairKey = `${ipKey}:${loginKey(login)}`
  // Counted as failures until the password proves otherwise (see createFailureLimiter).
  const [pair, ip] = await Promise.all([limiters.perLoginAndIp.begin(pairKey), limiters.perIp.begin(ipKey)])
  // A refused attempt is no failure: `begin` gave back the count that refused it, and the other is given back here.
  if (!pair.allowed) {
    if (ip.allowed) await limiters.perIp.forgive(ipKey)
    return { ok: false, reason: 'TOO_MANY_ATTEMPTS', retryAfterSeconds: pair.retryAfterSeconds }
  }
  if (!ip.allowed) {
    await limiters.perLoginAndIp.forgive(pairKey)
    return { ok: false, reason: 'TOO_MANY_ATTEMPTS', retryAfterSeconds: ip.retryAfterSeconds }
  }
  const valid =
    credential === undefined
      ? await deps.hasher.verifyAgainstDummy(body.password)
      : await deps.hasher.verify(body.password, credential.password_hash)
  if (!valid || credential === undefined) return { ok: false, reason: 'INVALID_CREDENTIALS' }
  if (credential.mfa) {
    // The password was right: it is no failure, whatever the code step brings (it has its own limits).
    await Promise.all([limiters.perLoginAndIp.reset(pairKey), limiters.perIp.forgive(ipKey)])
    const challenge = await createMfaChallenge(deps, credential.user_id, credential.checked_at)
    return challenge === null ? { ok: false, reason: 'INVALID_CREDENTIALS' } : { ok: true, challenge }
  }
  const session = await createSession(deps, credential.user_id, client, credential.checked_at)
  // The account was deleted, or its password or factors changed, while the password was being checked: refused, but not a failure.
  if (!session.ok) {
    await Promise.all([limiters.perLoginAndIp.forgive(pairKey), limiters.perIp.forgive(ipKey)])
    return { ok: false, reason: 'INVALID_CREDENTIALS' }
  }
  await Promise.all([limiters.perLoginAndIp.reset(pairKey), limiters.perIp.forgive(ipKey)])
  return { ok: true, pair: session.pair }
}

/**
 * The login as typed (normalized), hashed so no address is kept in a key name. Username
 * and email are two logins with counters of their own, as the contract has it ("the same
 * login"): a counter shared by the account's two spellings could be read back, by locking
 * one and trying the other, to learn which email belongs to which username. Each spelling
 * gets LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_IP guesses; the per-IP limit covers them together.
 */
function loginKey(login: string): string {
  return `login:${createHash('sha256').update(login).digest('base64url')}`
}
