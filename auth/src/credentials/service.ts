import { isUniqueViolation } from '@chat/common/db'
import type { AuthDeps } from '../deps'
import { queueVerificationMail } from '../email/service'
import { queueMail } from '../mail/outbox'
import { reauthenticate, type ReauthLimiter, type ReauthResult } from '../password/reauthentication'
import { announceRevocations, revokeSessionsWithin } from '../sessions/service'

type Identity = { username: string; email: string }
type PasswordHashRow = { password_hash: string }
type IdentityRow = { username: string; email: string }

export type CreateCredentialResult = { ok: true } | { ok: false; reason: 'USERNAME_TAKEN' | 'EMAIL_TAKEN' | 'CONFLICT' }

/**
 * Stores the password credential of a user the user service is registering, with the
 * verification mail, in one transaction: no account without its mail, no mail without the
 * account. (If the user service then fails to commit, it deletes the credential, and the
 * queued mail goes with it.)
 */
export async function createCredential(
  deps: Pick<AuthDeps, 'sql' | 'hasher' | 'config' | 'mailer' | 'mailTokenKey'>,
  userId: string,
  identity: Identity,
  password: string,
): Promise<CreateCredentialResult> {
  const hash = await deps.hasher.hash(password)
  try {
    await deps.sql.begin(async (tx) => {
      await tx`
        insert into auth.credentials (user_id, username, email, password_hash)
        values (${userId}, ${identity.username}, ${identity.email}, ${hash})`
      await queueVerificationMail(tx, deps, { userId, ...identity })
    })
  } catch (error) {
    return { ok: false, reason: conflictReason(error) }
  }
  deps.mailer.wake()
  return { ok: true }
}

/**
 * Keeps the login identifiers in step with the user service's profile. A new email (not
 * merely another letter case) is unverified: a verification mail goes to it, and the
 * former address is told, in the same transaction as the change.
 */
export async function updateIdentity(deps: Pick<AuthDeps, 'sql' | 'config' | 'mailer' | 'mailTokenKey'>, userId: string, identity: Partial<Identity>) {
  try {
    const mailed = await deps.sql.begin(async (tx) => {
      const [before] = await tx<IdentityRow[]>`select username, email from auth.credentials where user_id = ${userId} for update`
      if (before === undefined) return null
      const emailChanged = identity.email !== undefined && identity.email.toLowerCase() !== before.email.toLowerCase()
      const [after] = await tx<IdentityRow[]>`
        update auth.credentials
        set username = coalesce(${identity.username ?? null}, username),
            email = coalesce(${identity.email ?? null}, email),
            email_verified_at = ${emailChanged ? null : tx`email_verified_at`},
            updated_at = now()
        where user_id = ${userId}
        returning username, email`
      if (!emailChanged) return false
      await queueVerificationMail(tx, deps, { userId, ...after })
      await queueMail(tx, { userId, kind: 'email_changed', to: before.email, data: { username: after.username, newEmail: after.email } })
      return true
    })
    if (mailed === null) return { ok: false, reason: 'NOT_FOUND' } as const
    if (mailed) deps.mailer.wake()
    return { ok: true } as const
  } catch (error) {
    return { ok: false, reason: conflictReason(error) } as const
  }
}

/** Confirms the password before the user service deletes the account; counts against the re-authentication limit. */
export async function verifyPassword(
  deps: Pick<AuthDeps, 'sql' | 'hasher'>,
  limiter: ReauthLimiter,
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
    const sessionIds = await revokeSessionsWithin(tx, userId, null, 'account-deleted', deps.config.ACCESS_TOKEN_TTL_SECONDS)
    await tx`delete from auth.credentials where user_id = ${userId}`
    return sessionIds
  })
  await announceRevocations(deps, revoked, 'account-deleted')
}

function conflictReason(error: unknown): 'USERNAME_TAKEN' | 'EMAIL_TAKEN' | 'CONFLICT' {
  if (isUniqueViolation(error, 'credentials_username_key')) return 'USERNAME_TAKEN'
  if (isUniqueViolation(error, 'credentials_email_key')) return 'EMAIL_TAKEN'
  if (isUniqueViolation(error)) return 'CONFLICT'
  throw error
}
