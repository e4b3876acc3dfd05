import { findPasswordWeakness } from '@chat/common/passwords'
import type { TransactionSql } from 'postgres'
import type { AuthConfig } from '../config'
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
  // reauthenticate confirms only against a stored hash: the credential is there.
  const owner = { userId, username: credential!.username, email: credential!.email }
  const revoked = await deps.sql.begin((tx) => storeNewPassword(tx, deps.config, owner, hash, currentSessionId))
  deps.mailer.wake()
  await announceRevocations(deps, revoked, 'password-changed')
  return { ok: true }
}

/**
 * Inside the transaction that sets a new password (a change or a reset): stores the hash,
 * spends the reset links mailed before and drops the logins waiting for their code (both
 * were for the old password), queues the "password changed" mail, and records the
 * revocation of every session but `keep`. Returns the revoked sessions: hand them to
 * `announceRevocations`, and wake the mailer, after the commit.
 */
export async function storeNewPassword(
  tx: TransactionSql,
  config: Pick<AuthConfig, 'ACCESS_TOKEN_TTL_SECONDS'>,
  owner: { userId: string; username: string; email: string },
  hash: string,
  keep: string | null,
): Promise<string[]> {
  const { userId, username, email } = owner
  await tx`update auth.credentials set password_hash = ${hash}, updated_at = now() where user_id = ${userId}`
  await spendOtherTokens(tx, userId, 'reset_password')
  await dropMfaChallenges(tx, userId)
  await queueMail(tx, { userId, kind: 'password_changed', to: email, data: { username } })
  return revokeSessionsWithin(tx, userId, keep, 'password-changed', config.ACCESS_TOKEN_TTL_SECONDS)
}
