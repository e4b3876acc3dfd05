import { findPasswordWeakness } from '@chat/common/passwords'
import type { AuthDeps } from '../deps'
import { listActiveSessionIds, revokeSessions } from '../sessions/service'

export type ChangePasswordResult = { ok: true } | { ok: false; reason: 'INVALID_PASSWORD' } | { ok: false; reason: 'WEAK_PASSWORD'; why: string }

/** Checks the current password, stores the new hash, and ends every other session. */
export async function changePassword(
  deps: Pick<AuthDeps, 'sql' | 'redis' | 'config' | 'hasher'>,
  userId: string,
  currentSessionId: string,
  currentPassword: string,
  newPassword: string,
): Promise<ChangePasswordResult> {
  const [credential] = await deps.sql`select password_hash, username, email from auth.credentials where user_id = ${userId}`
  if (credential === undefined || !(await deps.hasher.verify(currentPassword, credential.password_hash))) {
    return { ok: false, reason: 'INVALID_PASSWORD' }
  }
  const why = findPasswordWeakness(newPassword, credential)
  if (why !== null) return { ok: false, reason: 'WEAK_PASSWORD', why }
  const hash = await deps.hasher.hash(newPassword)
  await deps.sql`update auth.credentials set password_hash = ${hash}, updated_at = now() where user_id = ${userId}`
  const others = (await listActiveSessionIds(deps, userId)).filter((id) => id !== currentSessionId)
  await revokeSessions(deps, others, 'password-changed')
  return { ok: true }
}
