import type { TransactionSql } from 'postgres'
import type { Sql } from '@chat/common/db'

/** A member's standing in a room. A room has exactly one owner (`rooms.owner_id`), except DMs, which have none. */
export type Role = 'owner' | 'admin' | 'member'

/** A room as a writing transaction sees it, under its row lock, with the caller's standing. */
export type LockedRoom = {
  id: string
  private: boolean
  /** A direct-message room: nobody moderates it. */
  direct: boolean
  ownerId: string | null
  lastSeq: number
  /** The caller's role, null when the caller is not a member. */
  callerRole: Role | null
  callerBanned: boolean
}

/**
 * Locks the room row (every membership change, ban, invite use and stored message takes
 * this lock, so none of them can interleave), then reads the caller's membership and ban.
 * Two statements on purpose: under READ COMMITTED the second takes its snapshot after the
 * lock was granted, so it sees a removal or ban that committed while this one waited.
 * null for an unknown room.
 */
export async function lockRoom(tx: TransactionSql, roomId: string, callerId: string): Promise<LockedRoom | null> {
  const [room] = await tx<{ id: string; private: boolean; dm_key: string | null; owner_id: string | null; last_seq: string }[]>`
    select id, private, dm_key, owner_id, last_seq from chat.rooms where id = ${roomId} for update`
  if (room === undefined) return null
  const standing = await readStanding(tx, roomId, callerId)
  return {
    id: room.id,
    private: room.private,
    direct: room.dm_key !== null,
    ownerId: room.owner_id,
    lastSeq: Number(room.last_seq),
    callerRole: standing.role,
    callerBanned: standing.banned,
  }
}

/** A user's role in the room (null: not a member) and whether they are banned from it. */
export async function readStanding(sql: Sql | TransactionSql, roomId: string, userId: string): Promise<{ role: Role | null; banned: boolean }> {
  const [row] = await sql<{ role: Role | null; banned: boolean }[]>`
    select (select role from chat.members where room_id = ${roomId} and user_id = ${userId}) as role,
      exists (select 1 from chat.bans where room_id = ${roomId} and user_id = ${userId}) as banned`
  return { role: row.role, banned: row.banned }
}

/** Why an action on a room is refused. Private rooms stay invisible to non-members (404), as everywhere. */
export type AuthorityFailure = 'NOT_FOUND' | 'NOT_A_MEMBER' | 'NOT_ALLOWED'

/** null when the caller is a member; otherwise the access failure (404 hides private rooms). */
export function memberFailure(room: LockedRoom | null): 'NOT_FOUND' | 'NOT_A_MEMBER' | null {
  if (room === null || (room.private && room.callerRole === null)) return 'NOT_FOUND'
  return room.callerRole === null ? 'NOT_A_MEMBER' : null
}

/** Renaming, topics, invites, bans and adding members: the owner and admins, never in a DM. */
export function moderatorFailure(room: LockedRoom | null): AuthorityFailure | null {
  const failure = memberFailure(room)
  if (failure !== null) return failure
  return !room!.direct && (room!.callerRole === 'owner' || room!.callerRole === 'admin') ? null : 'NOT_ALLOWED'
}

/** Roles, ownership and deleting the room: the owner alone. */
export function ownerFailure(room: LockedRoom | null): AuthorityFailure | null {
  const failure = memberFailure(room)
  if (failure !== null) return failure
  return !room!.direct && room!.callerRole === 'owner' ? null : 'NOT_ALLOWED'
}

/**
 * Whether `actor` may remove or ban someone whose role is `target` (null: not a member,
 * which only a ban can concern). As in Discord, one acts only on those below: the owner on
 * everyone else, an admin on members; nobody on the owner, and so nobody on themselves.
 */
export function outranks(actor: Role | null, target: Role | null): boolean {
  if (actor === 'owner') return target !== 'owner'
  if (actor === 'admin') return target === 'member' || target === null
  return false
}
