import type { Failure } from '@chat/common/errors'
import type { AccessFailure } from './service'

/**
 * How a failed room-access check is answered, by every controller that checks one (rooms,
 * messages): a private room the caller is not in is as unknown as one that does not exist.
 */
export const ROOM_ACCESS_FAILURES: Record<AccessFailure, Failure> = {
  NOT_FOUND: { code: 'NOT_FOUND', message: 'No such room' },
  NOT_A_MEMBER: { code: 'FORBIDDEN', message: 'Only members of this room can do that; join it first' },
}

/** Authenticated and a member, but the caller's role does not allow it (or the room is a DM, which nobody moderates). */
export const NOT_ALLOWED: Failure = { code: 'NOT_ALLOWED', message: 'Your role in this room does not allow that (direct-message rooms have no moderators)' }
