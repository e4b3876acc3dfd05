import { isUniqueViolation } from '@chat/common/db'
import type { FailureLimiter } from '@chat/common/limits'
import type { AuthDeps } from '../deps'
import { reauthenticate, type ReauthResult } from '../password/reauthentication'
import { announceRevocations, listActiveSessionIds, recordRevocations } from '../sessions/service'

type Identity = { username: string; email: string }
type UserIdRow = { user_id: string }
type PasswordHashRow = { password_hash: string }

export type CreateCredentialResult = { ok: true } | { ok: false; reason: 'USERNAME_TAKEN' | 'EMAIL_TAKEN' | 'CONFLICT' }

/** Stores the password credential of a user the user service is registering. */
export async function createCredential(
  deps: Pick<AuthDeps, 'sql' | 'hasher'>,
  userId: string,
  identity: Identity,
  password: string,
): Promise<CreateCredentialResult> {
  const hash = await deps.hasher.hash(password)
  try {
    await deps.sql`
      insert into auth.credentials (user_id, username, email, password_hash)
      values (${userId}, ${identity.username}, ${identity.email}, ${hash})`
    return { ok: true }
  } catch (error) {
    return { ok: false, reason: conflictReason(error) }
  }
}

/** Keeps the login identifiers in step with the user service's profile. */
export async function updateIdentity(deps: Pick<AuthDeps, 'sql'>, userId: string, identity: Partial<Identity>) {
  try {
    const [row] = await deps.sql<UserIdRow[]>`
      update auth.credentials
      set username = coalesce(${identity.username ?? null}, username),
          email = coalesce(${identity.email ?? null}, email),
          updated_at = now()
      where user_id = ${userId}
      returning user_id`
    return row === undefined ? ({ ok: false, reason: 'NOT_FOUND' } as const) : ({ ok: true } as const)
  } catch (error) {
    return { ok: false, reason: conflictReason(error) } as const
  }
}

/** Confirms the password before the user service deletes the account; counts against the re-authentication limit. */
export async function verifyPassword(
  deps: Pick<AuthDeps, 'sql' | 'hasher'>,
  limiter: FailureLimiter,
  userId: string,
  password: string,
): Promise<ReauthResult> {
  const [credential] = await deps.sql<PasswordHashRow[]>`select password_hash from auth.credentials where user_id = ${userId}`
  return reauthenticate(deps, limiter, userId, credential?.password_hash ?? null, password)
}

/**
 * Account deletion: every session is revoked, then the credential goes, in one
 * transaction that locks the credential first. A login racing it either committed its
 * session before the lock (then it is listed and revoked here) or waits on the lock in its
 * foreign-key check and then fails on the deleted row: no usable session survives.
 */
export async function deleteCredential(deps: Pick<AuthDeps, 'sql' | 'redis' | 'config' | 'log'>, userId: string) {
  const revoked = await deps.sql.begin(async (tx) => {
    await tx`select 1 from auth.credentials where user_id = ${userId} for update`
    const sessionIds = await listActiveSessionIds(tx, userId)
    if (sessionIds.length > 0) await recordRevocations(tx, sessionIds, 'account-deleted', deps.config.ACCESS_TOKEN_TTL_SECONDS)
    await tx`delete from auth.credentials where user_id = ${userId}`
    return sessionIds
  })
  if (revoked.length > 0) await announceRevocations(deps, revoked, 'account-deleted')
}

function conflictReason(error: unknown): 'USERNAME_TAKEN' | 'EMAIL_TAKEN' | 'CONFLICT' {
  if (isUniqueViolation(error, 'credentials_username_key')) return 'USERNAME_TAKEN'
  if (isUniqueViolation(error, 'credentials_email_key')) return 'EMAIL_TAKEN'
  if (isUniqueViolation(error)) return 'CONFLICT'
  throw error
}
