import type { RoomEvent } from '@chat/common/chat-protocol'
import { clampLimit, decodeCursor, encodeCursor } from '@chat/common/pagination'
import type { ChatDeps } from '../deps'
import { lockRoom, moderatorFailure, outranks, ownerFailure, readStanding, type AuthorityFailure, type Role } from '../rooms/authority'
import { announce, memberEvent } from '../rooms/membership'
import { findAccessFailure, findRoomAccess, peekRoom, type AccessFailure } from '../rooms/service'
import { appendEvents } from '../timeline/service'
import type { Ban, BanBody, BanPage, Member, MemberPage, MemberPageQuery } from './model'

type MemberRow = { user_id: string; role: Role; joined_at: Date; time_key: string }

export type MemberPageResult = { ok: true; page: MemberPage } | { ok: false; reason: AccessFailure | 'BAD_CURSOR' }

/** Members in the order they joined, paged by (joined_at, user_id) so a page boundary stays put while people join. */
export async function listMembers(deps: Pick<ChatDeps, 'sql' | 'config'>, roomId: string, callerId: string, query: MemberPageQuery): Promise<MemberPageResult> {
  const failure = findAccessFailure(await findRoomAccess(deps.sql, roomId, callerId))
  if (failure !== null) return { ok: false, reason: failure }
  const { sql } = deps
  const page = await readUserPage<MemberRow>(query, deps.config, (after, count) => sql`
    select user_id, role, joined_at, joined_at::text as time_key from chat.members
    where room_id = ${roomId} ${after === null ? sql`` : sql`and (joined_at, user_id) > (${after[0]}::text::timestamptz, ${after[1]}::uuid)`}
    order by joined_at, user_id
    limit ${count}`)
  if (page === null) return { ok: false, reason: 'BAD_CURSOR' }
  return { ok: true, page: { items: page.rows.map((row): Member => ({ userId: row.user_id, role: row.role, joinedAt: row.joined_at.toISOString() })), nextCursor: page.nextCursor } }
}

/**
 * One page of a room's list of users keyed by (a timestamp, user_id): members, bans. The
 * cursor holds the timestamp as Postgres prints it (`time_key`), microseconds included,
 * and goes back as text: a parameter typed timestamptz would pass through a JavaScript
 * Date and lose the microseconds. `read` gets the cursor's key (null on the first page)
 * and how many rows to ask for. Null: a cursor this API did not hand out.
 */
async function readUserPage<Row extends { user_id: string; time_key: string }>(
  query: MemberPageQuery,
  config: Pick<ChatDeps['config'], 'MEMBER_PAGE_DEFAULT' | 'MEMBER_PAGE_MAX'>,
  read: (after: [string, string] | null, count: number) => Promise<Row[]>,
): Promise<{ rows: Row[]; nextCursor: string | null } | null> {
  const after = query.cursor === undefined ? null : decodeCursor(query.cursor)
  if (after === undefined) return null
  const limit = clampLimit(query.limit, config.MEMBER_PAGE_DEFAULT, config.MEMBER_PAGE_MAX)
  let rows: Row[]
  try {
    rows = await read(after, limit + 1)
  } catch (error) {
    // A cursor we made always holds a valid timestamp: a time Postgres cannot read (class
    // 22, data exception: a bad format, a date out of range, an unknown zone) is someone else's.
    if ((error as { code?: string }).code?.startsWith('22')) return null
    throw error
  }
  const page = rows.slice(0, limit)
  const last = page.at(-1)
  return { rows: page, nextCursor: rows.length > limit && last !== undefined ? encodeCursor([last.time_key, last.user_id]) : null }
}

export type SetRoleResult = { ok: true; member: Member } | { ok: false; reason: AuthorityFailure | 'NO_SUCH_MEMBER' | 'LAST_OWNER' }

/**
 * The owner alone changes roles. A room has one owner, as in Discord: `owner` hands it
 * over (the caller becomes an admin, in the same transaction), and the owner cannot demote
 * themselves without handing over first. An unchanged role is a no-op without an event.
 */
export async function setRole(deps: Pick<ChatDeps, 'sql' | 'realtime' | 'log'>, roomId: string, callerId: string, userId: string, role: Role): Promise<SetRoleResult> {
  const outcome = await deps.sql.begin(async (tx): Promise<SetRoleResult & { events?: RoomEvent[] }> => {
    const failure = ownerFailure(await lockRoom(tx, roomId, callerId))
    if (failure !== null) return { ok: false, reason: failure }
    const [target] = await tx<MemberRow[]>`select user_id, role, joined_at from chat.members where room_id = ${roomId} and user_id = ${userId}`
    if (target === undefined) return { ok: false, reason: 'NO_SUCH_MEMBER' }
    const member = (r: Role): Member => ({ userId: target.user_id, role: r, joinedAt: target.joined_at.toISOString() })
    if (target.role === role) return { ok: true, member: member(role) }
    // The target is the owner, so the caller themselves: stepping down needs a successor.
    if (target.role === 'owner') return { ok: false, reason: 'LAST_OWNER' }
    if (role !== 'owner') {
      await tx`update chat.members set role = ${role} where room_id = ${roomId} and user_id = ${userId}`
      return { ok: true, member: member(role), events: await appendEvents(tx, roomId, [memberEvent(callerId, target.user_id, 'role', role)]) }
    }
    await tx`
      update chat.members set role = case when user_id = ${userId} then 'owner' else 'admin' end
      where room_id = ${roomId} and user_id in (${userId}, ${callerId})`
    await tx`update chat.rooms set owner_id = ${target.user_id} where id = ${roomId}`
    const events = await appendEvents(tx, roomId, [memberEvent(callerId, target.user_id, 'role', 'owner'), memberEvent(callerId, callerId, 'role', 'admin')])
    return { ok: true, member: member('owner'), events }
  })
  if (outcome.ok && outcome.events !== undefined) await announce(deps, { roomId, events: outcome.events })
  return outcome.ok ? { ok: true, member: outcome.member } : outcome
}

export type RemovalResult = { ok: true } | { ok: false; reason: AuthorityFailure | 'NO_SUCH_MEMBER' | 'OUTRANKED' }

/**
 * The owner removes anyone else, an admin removes plain members; nobody removes the owner.
 * The removed user may rejoin a public room (a ban is what keeps them out).
 */
export async function removeMember(deps: Pick<ChatDeps, 'sql' | 'realtime' | 'log'>, roomId: string, callerId: string, userId: string): Promise<RemovalResult> {
  const outcome = await deps.sql.begin(async (tx): Promise<RemovalResult & { events?: RoomEvent[] }> => {
    const room = await lockRoom(tx, roomId, callerId)
    const failure = moderatorFailure(room)
    if (failure !== null) return { ok: false, reason: failure }
    const target = await readStanding(tx, roomId, userId)
    if (target.role === null) return { ok: false, reason: 'NO_SUCH_MEMBER' }
    if (!outranks(room!.callerRole, target.role)) return { ok: false, reason: 'OUTRANKED' }
    await tx`delete from chat.members where room_id = ${roomId} and user_id = ${userId}`
    return { ok: true, events: await appendEvents(tx, roomId, [memberEvent(callerId, userId.toLowerCase(), 'removed')]) }
  })
  if (!outcome.ok) return outcome
  await announce(deps, { roomId, events: outcome.events ?? [], ended: { userIds: [userId.toLowerCase()], reason: 'removed' } })
  return { ok: true }
}

export type BanResult = { ok: true } | { ok: false; reason: AuthorityFailure | 'OUTRANKED' | 'REASON_TOO_LONG' }

/**
 * Bans a user, member or not (as Matrix and Discord allow, to keep someone out before they
 * arrive): a member is removed in the same transaction. The same ranks as removal apply.
 * Banning someone already banned changes nothing and emits nothing.
 */
export async function banUser(deps: Pick<ChatDeps, 'sql' | 'realtime' | 'log' | 'config'>, roomId: string, callerId: string, body: BanBody): Promise<BanResult> {
  const reason = (body.reason ?? '').normalize('NFC').trim()
  if ([...reason].length > deps.config.BAN_REASON_MAX_CHARS) return { ok: false, reason: 'REASON_TOO_LONG' }
  const userId = body.userId.toLowerCase()
  const outcome = await deps.sql.begin(async (tx): Promise<BanResult & { events?: RoomEvent[]; wasMember?: boolean }> => {
    const room = await lockRoom(tx, roomId, callerId)
    const failure = moderatorFailure(room)
    if (failure !== null) return { ok: false, reason: failure }
    const target = await readStanding(tx, roomId, userId)
    if (!outranks(room!.callerRole, target.role)) return { ok: false, reason: 'OUTRANKED' }
    if (target.banned) return { ok: true }
    if (target.role !== null) await tx`delete from chat.members where room_id = ${roomId} and user_id = ${userId}`
    await tx`insert into chat.bans (room_id, user_id, banned_by, reason) values (${roomId}, ${userId}, ${callerId}, ${reason})`
    return { ok: true, wasMember: target.role !== null, events: await appendEvents(tx, roomId, [memberEvent(callerId, userId, 'banned')]) }
  })
  if (!outcome.ok) return outcome
  await announce(deps, { roomId, events: outcome.events ?? [], ended: outcome.wasMember === true ? { userIds: [userId], reason: 'banned' } : undefined })
  return { ok: true }
}

export type UnbanResult = { ok: true } | { ok: false; reason: AuthorityFailure }

/** Lifts a ban (owner or admin); the user may then join, be added or accept an invite again. Idempotent. */
export async function unbanUser(deps: Pick<ChatDeps, 'sql' | 'realtime' | 'log'>, roomId: string, callerId: string, userId: string): Promise<UnbanResult> {
  const outcome = await deps.sql.begin(async (tx): Promise<UnbanResult & { events?: RoomEvent[] }> => {
    const failure = moderatorFailure(await lockRoom(tx, roomId, callerId))
    if (failure !== null) return { ok: false, reason: failure }
    const lifted = await tx`delete from chat.bans where room_id = ${roomId} and user_id = ${userId} returning 1`
    if (lifted.length === 0) return { ok: true }
    return { ok: true, events: await appendEvents(tx, roomId, [memberEvent(callerId, userId.toLowerCase(), 'unbanned')]) }
  })
  if (outcome.ok && outcome.events !== undefined) await announce(deps, { roomId, events: outcome.events })
  return outcome.ok ? { ok: true } : outcome
}

type BanRow = { user_id: string; reason: string; banned_by: string; created_at: Date; time_key: string }

export type BanPageResult = { ok: true; page: BanPage } | { ok: false; reason: AuthorityFailure | 'BAD_CURSOR' }

/**
 * The room's bans for its moderators, newest first, paged by (created_at, user_id) like
 * the member list. Plain members get 403: who was banned, by whom and why is for the
 * people who may lift it.
 */
export async function listBans(deps: Pick<ChatDeps, 'sql' | 'config'>, roomId: string, callerId: string, query: MemberPageQuery): Promise<BanPageResult> {
  const failure = moderatorFailure(await peekRoom(deps.sql, roomId, callerId))
  if (failure !== null) return { ok: false, reason: failure }
  const { sql } = deps
  const page = await readUserPage<BanRow>(query, deps.config, (before, count) => sql`
    select user_id, reason, banned_by, created_at, created_at::text as time_key from chat.bans
    where room_id = ${roomId} ${before === null ? sql`` : sql`and (created_at, user_id) < (${before[0]}::text::timestamptz, ${before[1]}::uuid)`}
    order by created_at desc, user_id desc
    limit ${count}`)
  if (page === null) return { ok: false, reason: 'BAD_CURSOR' }
  const items = page.rows.map((row): Ban => ({ userId: row.user_id, reason: row.reason, bannedAt: row.created_at.toISOString(), bannedBy: row.banned_by }))
  return { ok: true, page: { items, nextCursor: page.nextCursor } }
}
