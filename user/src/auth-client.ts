import { callInternal } from '@chat/common/internal'

export type AuthCallResult = { ok: true } | { ok: false; reason: 'USERNAME_TAKEN' | 'EMAIL_TAKEN' | 'UNAVAILABLE' }

/** Auth's answer to a password confirmation: its `ReauthResult`, or unreachable. */
export type VerifyPasswordResult =
  | { ok: true }
  | { ok: false; reason: 'INVALID_PASSWORD' | 'UNAVAILABLE' }
  | { ok: false; reason: 'TOO_MANY_ATTEMPTS'; retryAfterSeconds: number }

/** The auth service's internal credential routes, as the user service needs them. */
export function createAuthClient(baseUrl: string, internalToken: string) {
  const call = async (method: string, path: string, body?: unknown, requestId?: string): Promise<AuthCallResult> => {
    const result = await callInternal(baseUrl, internalToken, method, path, body, requestId)
    if (result.ok) return { ok: true }
    if (result.reason === 'status' && (result.error === 'USERNAME_TAKEN' || result.error === 'EMAIL_TAKEN')) {
      return { ok: false, reason: result.error }
    }
    return { ok: false, reason: 'UNAVAILABLE' }
  }
  return {
    createCredential: (userId: string, identity: { username: string; email: string }, password: string, requestId?: string) =>
      call('POST', '/internal/credentials', { userId, ...identity, password }, requestId),
    updateIdentity: (userId: string, identity: { username?: string; email?: string }, requestId?: string) =>
      call('PATCH', `/internal/credentials/${userId}`, identity, requestId),
    /** Counts against the user's re-authentication limit in auth. */
    async verifyPassword(userId: string, password: string, requestId?: string): Promise<VerifyPasswordResult> {
      const result = await callInternal<VerifyPasswordResult>(baseUrl, internalToken, 'POST', `/internal/credentials/${userId}/verify`, { password }, requestId)
      return result.ok ? result.data : { ok: false, reason: 'UNAVAILABLE' }
    },
    /** Revokes every session of the user everywhere and removes the credential. */
    deleteCredential: (userId: string, requestId?: string) => call('DELETE', `/internal/credentials/${userId}`, undefined, requestId),
  }
}
export type AuthClient = ReturnType<typeof createAuthClient>
