import type { Logger } from '@chat/common/logger'
import type { Presence } from '../realtime/presence'

/**
 * One socket's place under the per-user socket limit (all instances): taken at its first
 * authentication, given back when it closes. Redis decides in one atomic step, so sockets
 * opened at the same moment cannot overshoot the limit.
 */
export function createAdmission(presence: Presence, log: Logger, socketId: string, max: number) {
  let admittedAs: string | null = null
  return {
    max,
    /** True when the socket holds a place (now or already); false when the user has `max` sockets. */
    async admit(userId: string): Promise<boolean> {
      if (admittedAs !== null) return true
      const allowed = await presence.admitSocket(userId, socketId, max).catch((error) => {
        log.warn('connection limit unavailable; admitting', { error })
        return true
      })
      if (allowed) admittedAs = userId
      return allowed
    },
    async release(): Promise<void> {
      if (admittedAs === null) return
      const userId = admittedAs
      admittedAs = null
      await presence.releaseSocket(userId, socketId).catch(() => {})
    },
  }
}
export type Admission = ReturnType<typeof createAdmission>
