import type { LeftReason, RoomEvent } from '@chat/common/chat-protocol'
import { liftStatementTimeout, type Sql } from '@chat/common/db'
import { clampLimit, decodeCursor, encodeCursor, escapeLike } from '@chat/common/pagination'
import type { ChatDeps } from '../deps'
import { appendEvents } from '../timeline/service'
import { lockRoom, moderatorFailure, ownerFailure, readStanding, type AuthorityFailure, type LockedRoom, type Role } from './authority'
import { announce, insertMembers, memberEvent, type Aftermath } from './membership'
import type { CreateRoomBody, ListRoomsQuery, Presence, Room, RoomPage, RoomWithMembers, UpdateRoomBody } from './model'

/** A `chat.rooms` row as postgres.js returns it (bigint as a string). */
type RoomRow = {
  id: string
  name: string
  topic: string
  private: boolean
  owner_id: string | null
  dm_key: string | null
  created_at: Date
  last_seq: string
}

/** Room listings are cheap per row, but a page still has to stay small enough to answer quickly. */
const ROOM_PAGE_MAX = 100

/** Why a room cannot be used: unknown and other people's private rooms look the same, so private rooms stay invisible. */
export type AccessFailure = 'NOT_FOUND' | 'NOT_A_MEMBER'
export type RoomResult = { ok: true } | { ok: false; reason: AccessFailure }

/** `lastSeq`: the room's last assigned seq as this read found it, a bound on what the caller may have seen of the room. */
type RoomAccess = { private: boolean; ownerId: string | null; member: boolean; lastSeq: number }

export async function findRoomAccess(sql: Sql, roomId: string, userId: string): Promise<RoomAccess | null> {
  const [row] = await sql<{ private: boolean; owner_id: string | null; member: boolean; last_seq: string }[]>`
    select r.private, r.owner_id, r.last_seq,
      exists (select 1 from chat.members m where m.room_id = r.id and m.user_id = ${userId}) as member
    from chat.rooms r
    where r.id = ${roomId}`
  return row === undefined ? null : { private: row.private, ownerId: row.owner_id, member: row.member, lastSeq: Number(row.last_seq) }
}

/** Whether the user is a member of the room now (false for an unknown room). */
export async function isMember(sql: Sql, roomId: string, userId: string): Promise<boolean> {
  return (await findRoomAccess(sql, roomId, userId))?.member === true
}

/** A user and a room they joined on a socket. */
export type MembershipPair = { userId: string; roomId: string }

/**
 * For each pair, why the membership ended, as far as the tables tell (`deleted` when the
 * room is gone, `banned` under a ban, else `left`: a removal looks like a leave
 * afterwards), or null while it lasts. One statement for any number of pairs. For catching
 * up membership notices that a broker outage or a failed publish may have lost.
 */
export async function findEndedMemberships(sql: Sql, pairs: MembershipPair[]): Promise<(LeftReason | null)[]> {
  if (pairs.length === 0) return []
  const rows = await sql<{ ord: string; room_exists: boolean; member: boolean; banned: boolean }[]>`
    select k.ord, r.id is not null as room_exists, m.user_id is not null as member, b.user_id is not null as banned
    from unnest(${pairs.map((p) => p.userId)}::uuid[], ${pairs.map((p) => p.roomId)}::uuid[]) with ordinality as k (user_id, room_id, ord)
    left join chat.rooms r on r.id = k.room_id
    left join chat.members m on m.room_id = k.room_id and m.user_id = k.user_id
    left join chat.bans b on b.room_id = k.room_id and b.user_id = k.user_id`
  const reasons: (LeftReason | null)[] = pairs.map(() => null)
  for (const row of rows) {
    if (!row.member) reasons[Number(row.ord) - 1] = !row.room_exists ? 'deleted' : row.banned ? 'banned' : 'left'
  }
  return reasons
}

/** Each known room's last assigned seq; unknown ids are absent. */
export async function readLastSeqs(sql: Sql, roomIds: string[]): Promise<Map<string, number>> {
  const rows = await sql<{ id: string; last_seq: string }[]>`select id, last_seq from chat.rooms where id = any(${roomIds}::uuid[])`
  return new Map(rows.map((row) => [row.id, Number(row.last_seq)]))
}

/** null when the user is a member; otherwise what to answer (404 hides private rooms, 403 for public ones). */
export function findAccessFailure(access: Pick<RoomAccess, 'private' | 'member'> | null): AccessFailure | null {
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
 * stays put however many messages arrive while the client pages. A count reads at most
 * UNREAD_COUNT_MAX messages past the marker (by the primary key, the caller's own and
 * deleted ones included): uncapped, a room with 300,000 unread cost the list 130 ms of
 * Postgres time, and every member could ask for it again and again.
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
            (select count(*) filter (where s.sender_id <> ${userId} and s.deleted_at is null) from (
              select msg.sender_id, msg.deleted_at from chat.messages msg
              where msg.room_id = r.id and msg.seq > m.read_seq
              order by msg.seq limit ${deps.config.UNREAD_COUNT_MAX}
            ) s)::int as unread
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

export type JoinResult = { ok: true } | { ok: false; reason: AccessFailure | 'BANNED' }

/**
 * Public rooms only; joining a room one is already in (private ones included) is a no-op.
 * A banned user is refused under the room's lock, so a ban and a join cannot cross.
 */
export async function joinRoom(deps: Pick<ChatDeps, 'sql' | 'realtime' | 'log'>, roomId: string, userId: string): Promise<JoinResult> {
  const outcome = await deps.sql.begin(async (tx): Promise<JoinResult & { aftermath?: Aftermath }> => {
    const room = await lockRoom(tx, roomId, userId)
    if (room === null || (room.private && room.callerRole === null)) return { ok: false, reason: 'NOT_FOUND' }
    if (room.callerRole !== null) return { ok: true }
    if (room.callerBanned) return { ok: false, reason: 'BANNED' }
    const added = await insertMembers(tx, roomId, [userId])
    return { ok: true, aftermath: { roomId, events: await appendEvents(tx, roomId, [memberEvent(userId, userId, 'joined')]), added } }
  })
  if (outcome.ok && outcome.aftermath !== undefined) await announce(deps, outcome.aftermath)
  return outcome.ok ? { ok: true } : outcome
}

export type LeaveResult = { ok: true } | { ok: false; reason: 'NOT_FOUND' | 'LAST_OWNER' }

/**
 * Ends the caller's membership. The owner cannot leave while others remain: like Discord,
 * they hand the room over first (`PATCH …/members/:userId {role:"owner"}`) or delete it.
 * An owner alone in the room may leave it, which leaves it ownerless. Leaving a public
 * room one is not in succeeds, so a retry is harmless.
 */
export async function leaveRoom(deps: Pick<ChatDeps, 'sql' | 'realtime' | 'log'>, roomId: string, userId: string): Promise<LeaveResult> {
  const outcome = await deps.sql.begin(async (tx): Promise<LeaveResult & { events?: RoomEvent[] }> => {
    const room = await lockRoom(tx, roomId, userId)
    if (room === null || (room.private && room.callerRole === null)) return { ok: false, reason: 'NOT_FOUND' }
    if (room.callerRole === null) return { ok: true }
    if (room.callerRole === 'owner') {
      const [others] = await tx<{ count: number }[]>`select count(*)::int as count from chat.members where room_id = ${roomId} and user_id <> ${userId}`
      if (others.count > 0) return { ok: false, reason: 'LAST_OWNER' }
      await tx`update chat.rooms set owner_id = null where id = ${roomId}`
    }
    await tx`delete from chat.members where room_id = ${roomId} and user_id = ${userId}`
    return { ok: true, events: await appendEvents(tx, roomId, [memberEvent(userId, userId, 'left')]) }
  })
  if (!outcome.ok) return outcome
  // Also on a retry where nothing was deleted: the previous attempt may have failed to tell the sockets.
  await announce(deps, { roomId, events: outcome.events ?? [], ended: { userIds: [userId], reason: 'left' } })
  return { ok: true }
}

export type AddMemberResult = { ok: true } | { ok: false; reason: AuthorityFailure | 'TARGET_BANNED' | 'USER_NOT_FOUND' | 'UNAVAILABLE' }

/** The owner or an admin adds someone (to a private room, typically); idempotent; a banned user is refused. */
export async function addMember(
  deps: Pick<ChatDeps, 'sql' | 'users' | 'realtime' | 'log'>,
  roomId: string,
  callerId: string,
  userId: string,
  requestId?: string,
): Promise<AddMemberResult> {
  // A cheap look first, so that strangers learn nothing about accounts (and cost no call to the user service).
  const failure = moderatorFailure(await peekRoom(deps.sql, roomId, callerId))
  if (failure !== null) return { ok: false, reason: failure }
  const exists = await deps.users.exists(userId, requestId)
  if (exists === 'unavailable') return { ok: false, reason: 'UNAVAILABLE' }
  if (!exists) return { ok: false, reason: 'USER_NOT_FOUND' }
  const outcome = await deps.sql.begin(async (tx): Promise<AddMemberResult & { aftermath?: Aftermath }> => {
    const room = await lockRoom(tx, roomId, callerId)
    const failure = moderatorFailure(room)
    if (failure !== null) return { ok: false, reason: failure }
    const target = await readStanding(tx, roomId, userId)
    if (target.role !== null) return { ok: true }
    if (target.banned) return { ok: false, reason: 'TARGET_BANNED' }
    const added = await insertMembers(tx, roomId, [userId])
    return { ok: true, aftermath: { roomId, events: await appendEvents(tx, roomId, [memberEvent(callerId, userId, 'added')]), added } }
  })
  if (outcome.ok && outcome.aftermath !== undefined) await announce(deps, outcome.aftermath)
  return outcome.ok ? { ok: true } : outcome
}

export type DirectRoomResult = { ok: true; room: Room } | { ok: false; reason: 'SELF_DM' | 'USER_NOT_FOUND' | 'UNAVAILABLE' }

/**
 * The pair's one private room, created on first use. The unique `dm_key` makes concurrent
 * first calls converge: the losing insert waits for the winner's commit, then reads its row.
 * Both users are (re)made members, so a DM one side left reopens for both. Creating it
 * emits no event (both are its first members); reopening emits `joined` for the caller
 * and `added` for the other side, whose sockets get `room_added`.
 */
export async function openDirectRoom(
  deps: Pick<ChatDeps, 'sql' | 'users' | 'realtime' | 'log'>,
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
  const { room, aftermath } = await deps.sql.begin(async (tx) => {
    const [created] = await tx<RoomRow[]>`
      insert into chat.rooms (id, name, private, owner_id, dm_key)
      values (${crypto.randomUUID()}, ${dmKey}, true, null, ${dmKey})
      on conflict (dm_key) do nothing
      returning *`
    // Locked like every membership change, so the events' seqs follow the room's order.
    const row = created ?? (await tx<RoomRow[]>`select * from chat.rooms where dm_key = ${dmKey} for update`)[0]
    const added = await insertMembers(tx, row.id, pair)
    const events =
      created !== undefined
        ? []
        : await appendEvents(
            tx,
            row.id,
            added.map((id) => memberEvent(callerId.toLowerCase(), id, id === callerId.toLowerCase() ? 'joined' : 'added')),
          )
    const [current] = await tx<RoomRow[]>`select * from chat.rooms where id = ${row.id}`
    return { room: toRoom(current), aftermath: { roomId: row.id, events, added } }
  })
  await announce(deps, aftermath)
  return { ok: true, room }
}

export type ReadMarkResult = { ok: true } | { ok: false; reason: AccessFailure }

/**
 * The marker never moves backwards and never past the room's last seq. The update itself
 * is the membership check (only a member has a row); a marker that moved is sent live as a
 * `receipt` to the room's sockets.
 */
export async function markRead(deps: Pick<ChatDeps, 'sql' | 'realtime' | 'log'>, roomId: string, userId: string, seq: number): Promise<ReadMarkResult> {
  const [moved] = await deps.sql<{ read_seq: string }[]>`
    update chat.members m
    set read_seq = least(${seq}, r.last_seq)
    from chat.rooms r
    where r.id = m.room_id and m.room_id = ${roomId} and m.user_id = ${userId} and m.read_seq < least(${seq}, r.last_seq)
    returning m.read_seq`
  if (moved !== undefined) {
    await deps.realtime.receiptMoved(roomId, userId, Number(moved.read_seq)).catch((error) => deps.log.warn('publishing a receipt failed', { roomId, error }))
    return { ok: true }
  }
  const failure = findAccessFailure(await findRoomAccess(deps.sql, roomId, userId))
  return failure === null ? { ok: true } : { ok: false, reason: failure }
}

export type UpdateRoomResult = { ok: true; room: RoomWithMembers } | { ok: false; reason: AuthorityFailure | 'TOPIC_TOO_LONG' }

/** Renames the room or sets its topic (owner or admin); a `room` event carries what changed, nothing when nothing did. */
export async function updateRoom(
  deps: Pick<ChatDeps, 'sql' | 'realtime' | 'log' | 'config'>,
  roomId: string,
  callerId: string,
  body: UpdateRoomBody,
): Promise<UpdateRoomResult> {
  const name = body.name?.normalize('NFC').trim()
  const topic = body.topic?.normalize('NFC').trim()
  if (topic !== undefined && [...topic].length > deps.config.ROOM_TOPIC_MAX_CHARS) return { ok: false, reason: 'TOPIC_TOO_LONG' }
  const outcome = await deps.sql.begin(async (tx): Promise<{ ok: false; reason: AuthorityFailure } | { ok: true; events: RoomEvent[] }> => {
    const failure = moderatorFailure(await lockRoom(tx, roomId, callerId))
    if (failure !== null) return { ok: false, reason: failure }
    const [before] = await tx<Pick<RoomRow, 'name' | 'topic'>[]>`select name, topic from chat.rooms where id = ${roomId}`
    const changed = {
      ...(name !== undefined && name !== before.name ? { name } : {}),
      ...(topic !== undefined && topic !== before.topic ? { topic } : {}),
    }
    if (Object.keys(changed).length === 0) return { ok: true, events: [] }
    await tx`update chat.rooms set name = ${changed.name ?? before.name}, topic = ${changed.topic ?? before.topic} where id = ${roomId}`
    return { ok: true, events: await appendEvents(tx, roomId, [{ kind: 'room', actorId: callerId, data: changed }]) }
  })
  if (!outcome.ok) return outcome
  await announce(deps, { roomId, events: outcome.events })
  const room = await getRoom(deps, roomId, callerId)
  return room === null ? { ok: false, reason: 'NOT_FOUND' } : { ok: true, room }
}

export type DeleteRoomResult = { ok: true } | { ok: false; reason: AuthorityFailure }

/**
 * The owner deletes the room: its messages, events, members, bans and invites go with it
 * (foreign keys cascade), in one transaction. Every member's sockets then get
 * `left{room, reason:"deleted"}`.
 */
export async function deleteRoom(deps: Pick<ChatDeps, 'sql' | 'realtime' | 'log' | 'config'>, roomId: string, callerId: string): Promise<DeleteRoomResult> {
  const outcome = await deps.sql.begin(async (tx): Promise<DeleteRoomResult & { members?: string[] }> => {
    // The cascade through a big room's messages may rightly outlast DATABASE_STATEMENT_TIMEOUT_MS;
    // waiting for a lock may not (a stuck transaction would hold this connection for good).
    await liftStatementTimeout(tx, deps.config.DATABASE_STATEMENT_TIMEOUT_MS)
    const failure = ownerFailure(await lockRoom(tx, roomId, callerId))
    if (failure !== null) return { ok: false, reason: failure }
    const members = await tx<{ user_id: string }[]>`delete from chat.members where room_id = ${roomId} returning user_id`
    await tx`delete from chat.rooms where id = ${roomId}`
    return { ok: true, members: members.map((row) => row.user_id) }
  })
  if (!outcome.ok) return outcome
  await announce(deps, { roomId, events: [], ended: { userIds: outcome.members ?? [], reason: 'deleted' } })
  return { ok: true }
}

/** The caller's standing without a lock: for answering early, never for deciding a write. */
export async function peekRoom(sql: Sql, roomId: string, callerId: string): Promise<LockedRoom | null> {
  const [room] = await sql<{ id: string; private: boolean; dm_key: string | null; owner_id: string | null; last_seq: string; role: Role | null }[]>`
    select r.id, r.private, r.dm_key, r.owner_id, r.last_seq,
      (select role from chat.members m where m.room_id = r.id and m.user_id = ${callerId}) as role
    from chat.rooms r where r.id = ${roomId}`
  if (room === undefined) return null
  return { id: room.id, private: room.private, direct: room.dm_key !== null, ownerId: room.owner_id, lastSeq: Number(room.last_seq), callerRole: room.role, callerBanned: false }
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

function toRoom(row: RoomRow): Room {
  return {
    id: row.id,
    name: row.name,
    topic: row.topic,
    private: row.private,
    ownerId: row.owner_id,
    createdAt: row.created_at.toISOString(),
    lastSeq: Number(row.last_seq),
  }
}
