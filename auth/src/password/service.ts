import { findPasswordWeakness } from '@chat/common/passwords'
import type { AuthDeps } from '../deps'
import { queueMail } from '../mail/outbox'
import { spendOtherTokens } from '../mail/tokens'
import { dropMfaChallenges } from '../mfa/service'
import { announceRevocations, revokeSessionsWithin } from '../sessions/service'
import { reauthenticate, type ReauthLimiter, type ReauthResult } from './reauthentication'

type CredentialRow = { password_hash: string; username: string; email: string }

export type ChangePasswordResult = ReauthResult | { ok: false; reason: 'WEAK_PASSWORD'; why: string }

/** Checks the current password, stores the new hash with a "your password was changed" mail, and ends every other session. */
export async function changePassword(
  deps: Pick<AuthDeps, 'sql' | 'redis' | 'config' | 'log' | 'hasher' | 'mailer'>,
  limiter: ReauthLimiter,
  userId: string,
  currentSessionId: string,
  currentPassword: string,
  newPassword: string,
): Promise<ChangePasswordResult> {
  const [credential] = await deps.sql<CredentialRow[]>`select password_hash, username, email from auth.credentials where user_id = ${userId}`
  const confirmed = await reauthenticate(deps, limiter, userId, credential?.password_hash ?? null, currentPassword)
  if (!confirmed.ok) return confirmed
  const why = findPasswordWeakness(newPassword, credential)
  if (why !== null) return { ok: false, reason: 'WEAK_PASSWORD', why }
  const hash = await deps.hasher.hash(newPassword)
  const revoked = await deps.sql.begin(async (tx) => {
    await tx`update auth.credentials set password_hash = ${hash}, updated_at = now() where user_id = ${userId}`
    // Reset links mailed before, and logins waiting for their code, were for the old password.
    await spendOtherTokens(tx, userId, 'reset_password')
    await dropMfaChallenges(tx, userId)
    // reauthenticate confirms only against a stored hash: the credential is there.
    await queueMail(tx, { userId, kind: 'password_changed', to: credential!.email, data: { username: credential!.username } })
    return revokeSessionsWithin(tx, userId, currentSessionId, 'password-changed', deps.config.ACCESS_TOKEN_TTL_SECONDS)
  })
  deps.mailer.wake()
  await announceRevocations(deps, revoked, 'password-changed')
  return { ok: true }
}
