import { callInternal } from '@chat/common/internal'
import type { UserDirectory } from './deps'

const NOT_FOUND_STATUS = 404

/** The user service's internal account look-up; anything but "exists" or "no such user" is 'unavailable'. */
export function createUserDirectory(baseUrl: string, internalToken: string): UserDirectory {
  return {
    async exists(userId, requestId) {
      const result = await callInternal(baseUrl, internalToken, 'GET', `/internal/users/${encodeURIComponent(userId)}`, undefined, requestId)
      if (result.ok) return true
      return result.reason === 'status' && result.status === NOT_FOUND_STATUS ? false : 'unavailable'
    },
  }
}
