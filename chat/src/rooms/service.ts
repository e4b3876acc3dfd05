import type { TransactionSql } from 'postgres'
import type { LeftReason } from '@chat/common/chat-protocol'
import type { Sql } from '@chat/common/db'
import { clampLimit, decodeCursor, encodeCursor, escapeLike } from '@chat/common/pagination'
import type { ChatDeps } from '../deps'
import type { CreateRoomBody, ListRoomsQuery, Presence, Room, RoomPage, RoomWithMembers } from './model'

/** A `chat.rooms` row as postgres.js returns it (bigint as a string). */
type RoomRow = { id: string; name: string; private: boolean; owner_id: string | null; dm_key: string | null; created_at: Date; last_seq: string }

/** Room listings are cheap per row, but a page still has to stay small enough to answer quickly. */
const ROOM_PAGE_MAX = 100

/** Why a room cannot be used: unknown and other people's private rooms look the same, so private rooms stay invisible. */
export type AccessFailure = 'NOT_FOUND' | 'NOT_A_MEMBER'
export type RoomResult = { ok: true } | { ok: false; reason: AccessFailure }

type RoomAccess = { private: boolean; ownerId: string | null; member: boolean }

export async function findRoomAccess(sql: Sql, roomId: string, userId: string): Promise<RoomAccess | null> {
  const [row] = await sql<{ private: boolean; owner_id: string | null; member: boolean }[]>`
    select r.private, r.owner_id,
      exists (select 1 from chat.members m where m.room_id = r.id and m.user_id = ${userId}) as member
    from chat.rooms r
    where r.id = ${roomId}`
  return row === undefined ? null : { private: row.private, ownerId: row.owner_id, member: row.member }
}

/** Whether the user is a member of the room now (false for an unknown room). */
export async function isMember(sql: Sql, roomId: string, userId: string): Promise<boolean> {
  return (await findRoomAccess(sql, roomId, userId))?.member === true
}

/**
 * Of the given rooms, those the user is no longer a member of, with the reason as far as
 * the tables tell: `deleted` when the room is gone, else `left`. For catching up
 * membership notices that a broker outage may have lost.
 */
export async function findEndedMemberships(sql: Sql, userId: string, roomIds: string[]): Promise<Map<string, LeftReason>> {
  const rows = await sql<{ id: string; room_exists: boolean; member: boolean }[]>`
    select k.id, r.id is not null as room_exists, m.user_id is not null as member
    from unnest(${roomIds}::uuid[]) as k (id)
    left join chat.rooms r on r.id = k.id
    left join chat.members m on m.room_id = k.id and m.user_id = ${userId}`
  return new Map(rows.filter((row) => !row.member).map((row) => [row.id, row.room_exists ? 'left' : 'deleted']))
}

/** Each known room's last assigned seq; unknown ids are absent. */
export async function readLastSeqs(sql: Sql, roomIds: string[]): Promise<Map<string, number>> {
  const rows = await sql<{ id: string; last_seq: string }[]>`select id, last_seq from chat.rooms where id = any(${roomIds}::uuid[])`
  return new Map(rows.map((row) => [row.id, Number(row.last_seq)]))
}

/** null when the user is a member; otherwise what to answer (404 hides private rooms, 403 for public ones). */
export function findAccessFailure(access: RoomAccess | null): AccessFailure | null {
  if (access === null || (access.private && !access.member)) return 'NOT_FOUND'
  return access.member ? null : 'NOT_A_MEMBER'
}

/** Room and owner membership in one statement, so a room never exists without its creator. */
export async function createRoom(deps: Pick<ChatDeps, 'sql'>, ownerId: string, body: CreateRoomBody): Promise<Room> {
  const name = body.name.normalize('NFC').trim()
  const [row] = await deps.sql<RoomRow[]>`
    with room as (
      insert into chat.rooms (id, name, private, owner_id)
      values (${crypto.randomUUID()}, ${name}, ${body.private ?? false}, ${ownerId})
      returning *
    ), owner as (
      insert into chat.members (room_id, user_id, role) select id, owner_id, 'owner' from room
    )
    select * from room`
  return toRoom(row)
}

/**
 * Public rooms, or with `mine` the caller's rooms of every kind with their unread counts.
 * Both are ordered by (lower(name), id) and paginated by that key, so a page boundary
 * stays put however many messages arrive while the client pages.
 */
export async function listRooms(
  deps: Pick<ChatDeps, 'sql' | 'config'>,
  userId: string,
  query: ListRoomsQuery,
): Promise<RoomPage | { error: 'BAD_CURSOR' }> {
  const { sql } = deps
  const limit = clampLimit(query.limit, deps.config.ROOM_PAGE_DEFAULT, ROOM_PAGE_MAX)
  const after = query.cursor === undefined ? null : decodeCursor(query.cursor)
  if (after === undefined) return { error: 'BAD_CURSOR' }
  // Lower-cased by Postgres, like the names, so search and cursor agree with the ordering whatever the locale.
  const prefix = sql`lower(${escapeLike((query.q ?? '').normalize('NFC').trim()) + '%'})`
  const position = after === null ? sql`` : sql`and (lower(r.name), r.id) > (${after[0]}, ${after[1]}::uuid)`
  const rows =
    query.mine === true
      ? await sql<(RoomRow & { sort_name: string; unread: number })[]>`
          select r.*, lower(r.name) as sort_name,
            (select count(*) from chat.messages msg
              where msg.room_id = r.id and msg.seq > m.read_seq and msg.sender_id <> ${userId})::int as unread
          from chat.members m
          join chat.rooms r on r.id = m.room_id
          where m.user_id = ${userId} and lower(r.name) like ${prefix} ${position}
          order by lower(r.name), r.id
          limit ${limit + 1}`
      : await sql<(RoomRow & { sort_name: string; unread?: undefined })[]>`
          select r.*, lower(r.name) as sort_name from chat.rooms r
          where not r.private and lower(r.name) like ${prefix} ${position}
          order by lower(r.name), r.id
          limit ${limit + 1}`
  const page = rows.slice(0, limit)
  const items = page.map((row) => (query.mine === true ? { ...toRoom(row), unread: row.unread } : toRoom(row)))
  const last = page.at(-1)
  return { items, nextCursor: rows.length > limit && last ? encodeCursor([last.sort_name, last.id]) : null }
}

/** null for unknown rooms and for private rooms the caller is not in. */
export async function getRoom(deps: Pick<ChatDeps, 'sql'>, roomId: string, userId: string): Promise<RoomWithMembers | null> {
  const [row] = await deps.sql<(RoomRow & { members: number; member: boolean })[]>`
    select r.*,
      (select count(*) from chat.members m where m.room_id = r.id)::int as members,
      exists (select 1 from chat.members m where m.room_id = r.id and m.user_id = ${userId}) as member
    from chat.rooms r
    where r.id = ${roomId}`
  if (row === undefined || (row.private && !row.member)) return null
  return { ...toRoom(row), members: row.members }
}

/** Public rooms only; joining a room one is already in (private ones included) is a no-op. */
export async function joinRoom(deps: Pick<ChatDeps, 'sql'>, roomId: string, userId: string): Promise<RoomResult> {
  const access = await findRoomAccess(deps.sql, roomId, userId)
  if (access === null || (access.private && !access.member)) return { ok: false, reason: 'NOT_FOUND' }
  if (!access.member) await insertMembers(deps.sql, roomId, [userId])
  return { ok: true }
}

/**
 * Ends the caller's membership. When the owner leaves, ownership passes to the member who
 * joined earliest, or to nobody when the room is left empty. The room row is locked so
 * concurrent leaves cannot hand the room to someone who is leaving at the same moment.
 * Leaving a public room one is not in succeeds, so a retry is harmless.
 */
export async function leaveRoom(deps: Pick<ChatDeps, 'sql' | 'realtime'>, roomId: string, userId: string): Promise<RoomResult> {
  const visible = await deps.sql.begin(async (tx) => {
    const [room] = await tx<Pick<RoomRow, 'private' | 'owner_id'>[]>`select private, owner_id from chat.rooms where id = ${roomId} for update`
    if (room === undefined) return false
    const deleted = await tx`delete from chat.members where room_id = ${roomId} and user_id = ${userId} returning 1`
    if (deleted.length === 0) return !room.private
    if (room.owner_id === userId) {
      await tx`
        update chat.rooms
        set owner_id = (select user_id from chat.members where room_id = ${roomId} order by joined_at, user_id limit 1)
        where id = ${roomId}`
    }
    return true
  })
  if (!visible) return { ok: false, reason: 'NOT_FOUND' }
  // Also on a retry where nothing was deleted: the previous attempt may have failed to tell the sockets.
  await deps.realtime.membershipEnded(roomId, userId, 'left')
  return { ok: true }
}

export type AddMemberResult = { ok: true } | { ok: false; reason: AccessFailure | 'NOT_OWNER' | 'USER_NOT_FOUND' | 'UNAVAILABLE' }

export async function addMember(
  deps: Pick<ChatDeps, 'sql' | 'users'>,
  roomId: string,
  callerId: string,
  userId: string,
  requestId?: string,
): Promise<AddMemberResult> {
  const access = await findRoomAccess(deps.sql, roomId, callerId)
  const failure = findAccessFailure(access)
  if (failure !== null) return { ok: false, reason: failure }
  if (access?.ownerId !== callerId) return { ok: false, reason: 'NOT_OWNER' }
  const exists = await deps.users.exists(userId, requestId)
  if (exists === 'unavailable') return { ok: false, reason: 'UNAVAILABLE' }
  if (!exists) return { ok: false, reason: 'USER_NOT_FOUND' }
  await insertMembers(deps.sql, roomId, [userId])
  return { ok: true }
}

export type DirectRoomResult = { ok: true; room: Room } | { ok: false; reason: 'SELF_DM' | 'USER_NOT_FOUND' | 'UNAVAILABLE' }

/**
 * The pair's one private room, created on first use. The unique `dm_key` makes concurrent
 * first calls converge: the losing insert waits for the winner's commit, then reads its row.
 * Both users are (re)made members, so a DM one side left reopens for both.
 */
export async function openDirectRoom(
  deps: Pick<ChatDeps, 'sql' | 'users'>,
  callerId: string,
  userId: string,
  requestId?: string,
): Promise<DirectRoomResult> {
  // Postgres prints uuids in lower case; the key is compared as text, so it must match.
  const pair = [callerId.toLowerCase(), userId.toLowerCase()].sort()
  if (pair[0] === pair[1]) return { ok: false, reason: 'SELF_DM' }
  const exists = await deps.users.exists(userId, requestId)
  if (exists === 'unavailable') return { ok: false, reason: 'UNAVAILABLE' }
  if (!exists) return { ok: false, reason: 'USER_NOT_FOUND' }
  const dmKey = pair.join(':')
  const room = await deps.sql.begin(async (tx) => {
    const [created] = await tx<RoomRow[]>`
      insert into chat.rooms (id, name, private, owner_id, dm_key)
      values (${crypto.randomUUID()}, ${dmKey}, true, null, ${dmKey})
      on conflict (dm_key) do nothing
      returning *`
    const row = created ?? (await tx<RoomRow[]>`select * from chat.rooms where dm_key = ${dmKey}`)[0]
    await insertMembers(tx, row.id, pair)
    return toRoom(row)
  })
  return { ok: true, room }
}

/** The marker never moves backwards and never past the room's last message. */
export async function markRead(deps: Pick<ChatDeps, 'sql'>, roomId: string, userId: string, seq: number): Promise<RoomResult> {
  const failure = findAccessFailure(await findRoomAccess(deps.sql, roomId, userId))
  if (failure !== null) return { ok: false, reason: failure }
  await deps.sql`
    update chat.members m
    set read_seq = greatest(m.read_seq, least(${seq}, r.last_seq))
    from chat.rooms r
    where r.id = m.room_id and m.room_id = ${roomId} and m.user_id = ${userId}`
  return { ok: true }
}

export type PresenceResult = { ok: true; presence: Presence } | { ok: false; reason: AccessFailure }

/** Online users as the real-time side sees them, minus anyone who has left the room since. */
export async function listPresence(deps: Pick<ChatDeps, 'sql' | 'realtime'>, roomId: string, userId: string): Promise<PresenceResult> {
  const failure = findAccessFailure(await findRoomAccess(deps.sql, roomId, userId))
  if (failure !== null) return { ok: false, reason: failure }
  const online = await deps.realtime.onlineUserIds(roomId)
  if (online.length === 0) return { ok: true, presence: [] }
  const rows = await deps.sql<{ user_id: string }[]>`select user_id from chat.members where room_id = ${roomId} and user_id in ${deps.sql(online)}`
  const members = new Set(rows.map((row) => row.user_id))
  return { ok: true, presence: online.filter((id) => members.has(id)).map((id) => ({ userId: id, online: true as const })) }
}

/**
 * Messages stored before someone became a member are not unread for them: the marker
 * starts at the room's current last message.
 */
async function insertMembers(sql: Sql | TransactionSql, roomId: string, userIds: string[]) {
  await sql`
    insert into chat.members (room_id, user_id, read_seq)
    select r.id, u.id, r.last_seq from chat.rooms r, unnest(${sql.array(userIds)}::uuid[]) as u (id)
    where r.id = ${roomId}
    on conflict do nothing`
}

function toRoom(row: RoomRow): Room {
  return {
    id: row.id,
    name: row.name,
    private: row.private,
    ownerId: row.owner_id,
    createdAt: row.created_at.toISOString(),
    lastSeq: Number(row.last_seq),
  }
}
