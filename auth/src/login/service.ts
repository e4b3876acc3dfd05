import { createHash } from 'node:crypto'
import type { AuthDeps } from '../deps'
import type { ClientInfo, TokenPair } from '../sessions/model'
import { createSession } from '../sessions/service'
import { createFailureLimiter } from './failure-limiter'
import type { LoginBody } from './model'

export type LoginResult =
  | { ok: true; pair: TokenPair }
  | { ok: false; reason: 'INVALID_CREDENTIALS' }
  | { ok: false; reason: 'TOO_MANY_ATTEMPTS'; retryAfterSeconds: number }

export type LoginLimiters = ReturnType<typeof createLoginLimiters>

/**
 * Two limits: per (login, client IP), so a stranger elsewhere cannot lock the owner out,
 * and per client IP across logins, against credential stuffing.
 */
export function createLoginLimiters(deps: Pick<AuthDeps, 'redis' | 'config'>) {
  const windowSeconds = deps.config.LOGIN_FAILURE_WINDOW_SECONDS
  return {
    perLoginAndIp: createFailureLimiter(deps.redis, {
      prefix: 'auth:login-failures:pair:',
      max: deps.config.LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_IP,
      windowSeconds,
    }),
    perIp: createFailureLimiter(deps.redis, { prefix: 'auth:login-failures:ip:', max: deps.config.LOGIN_MAX_FAILURES_PER_IP, windowSeconds }),
  }
}

/**
 * Checks a password and opens a session. Unknown logins and wrong passwords take the
 * same path (a dummy argon2id verify) and get the same answer.
 */
export async function login(
  deps: Pick<AuthDeps, 'sql' | 'redis' | 'config' | 'hasher' | 'signAccessToken'>,
  limiters: LoginLimiters,
  body: LoginBody,
  client: ClientInfo & { ip: string },
): Promise<LoginResult> {
  const login = body.login.trim().toLowerCase()
  const pairKey = `${client.ip}:${createHash('sha256').update(login).digest('base64url')}`
  const checks = await Promise.all([limiters.perLoginAndIp.check(pairKey), limiters.perIp.check(client.ip)])
  for (const check of checks) {
    if (!check.allowed) return { ok: false, reason: 'TOO_MANY_ATTEMPTS', retryAfterSeconds: check.retryAfterSeconds }
  }
  const [credential] = await deps.sql`
    select user_id, password_hash from auth.credentials
    where lower(username) = ${login} or lower(email) = ${login}
    limit 1`
  const valid =
    credential === undefined
      ? await deps.hasher.verifyAgainstDummy(body.password)
      : await deps.hasher.verify(body.password, credential.password_hash)
  if (!valid) {
    await Promise.all([limiters.perLoginAndIp.recordFailure(pairKey), limiters.perIp.recordFailure(client.ip)])
    return { ok: false, reason: 'INVALID_CREDENTIALS' }
  }
  await limiters.perLoginAndIp.reset(pairKey)
  return { ok: true, pair: await createSession(deps, credential.user_id, client) }
}
