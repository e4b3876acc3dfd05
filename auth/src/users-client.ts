import { callInternal } from '@chat/common/internal'

const NOT_FOUND_STATUS = 404

export type MarkVerifiedResult = 'marked' | 'stale' | 'unavailable'

/** The user service's internal routes, as auth needs them: it shows `emailVerified`. */
export function createUsersClient(baseUrl: string, internalToken: string) {
  return {
    /**
     * Marks the user's email verified, only if it is still `email` ('stale' when the user
     * is gone or has another address now). PUT: safe to retry on another instance.
     */
    async markEmailVerified(userId: string, email: string, requestId?: string): Promise<MarkVerifiedResult> {
      const result = await callInternal(baseUrl, internalToken, 'PUT', `/internal/users/${encodeURIComponent(userId)}/email-verified`, { email }, requestId)
      if (result.ok) return 'marked'
      return result.reason === 'status' && result.status === NOT_FOUND_STATUS ? 'stale' : 'unavailable'
    },
  }
}
export type UsersClient = ReturnType<typeof createUsersClient>
