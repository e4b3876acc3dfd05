import { isUniqueViolation } from '@chat/common/db'
import type { AuthDeps } from '../deps'
import { listActiveSessionIds, revokeSessions } from '../sessions/service'

type Identity = { username: string; email: string }

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
    const [row] = await deps.sql`
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

export async function verifyPassword(deps: Pick<AuthDeps, 'sql' | 'hasher'>, userId: string, password: string): Promise<boolean> {
  const [credential] = await deps.sql`select password_hash from auth.credentials where user_id = ${userId}`
  if (credential === undefined) return deps.hasher.verifyAgainstDummy(password)
  return deps.hasher.verify(password, credential.password_hash)
}

/** Account deletion: every session is revoked everywhere, then the credential goes. */
export async function deleteCredential(deps: Pick<AuthDeps, 'sql' | 'redis' | 'config'>, userId: string) {
  await revokeSessions(deps, await listActiveSessionIds(deps, userId), 'account-deleted')
  await deps.sql`delete from auth.credentials where user_id = ${userId}`
}

function conflictReason(error: unknown): 'USERNAME_TAKEN' | 'EMAIL_TAKEN' | 'CONFLICT' {
  if (isUniqueViolation(error, 'credentials_username_key')) return 'USERNAME_TAKEN'
  if (isUniqueViolation(error, 'credentials_email_key')) return 'EMAIL_TAKEN'
  if (isUniqueViolation(error)) return 'CONFLICT'
  throw error
}
