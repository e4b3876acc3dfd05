import type { TransactionSql as Tx } from 'postgres'
import type { RoomEvent, StreamItem } from '@chat/common/chat-protocol'
import { clampLimit } from '@chat/common/pagination'
import type { Sql } from '@chat/common/db'
import type { ChatDeps } from '../deps'
import { readMessagesAfter } from '../messages/read'
import { findAccessFailure, findRoomAccess, type AccessFailure } from '../rooms/service'
import { mergeBySeq } from './merge'
import { toRoomEvent, toTimelineItem, type EventRow, type EventsQuery, type NewEvent, type TimelinePage } from './model'

/**
 * Stores events as the room's next seqs, inside the caller's transaction, so a change and
 * its event commit together or not at all. The seqs come from the same `rooms.last_seq`
 * increment the message store makes, which takes (or already holds) the room's row lock:
 * writers of one room queue there, so seqs stay gapless across messages and events.
 * After the commit the caller hands the result to `RealtimeHooks.publishEvents`.
 */
export async function appendEvents(tx: Tx, roomId: string, events: NewEvent[]): Promise<RoomEvent[]> {
  if (events.length === 0) return []
  // One statement, so the room's lock is held one round trip less by every change.
  const rows = await tx<EventRow[]>`
    with reserved as (
      update chat.rooms set last_seq = last_seq + ${events.length} where id = ${roomId}
      returning last_seq - ${events.length} as before, now() as now
    )
    insert into chat.events (room_id, seq, kind, actor_id, target, data, created_at)
    select ${roomId}, r.before + u.n, u.kind, u.actor_id, u.target, u.data::jsonb, r.now
    from reserved r, unnest(
      ${events.map((e) => e.kind)}::text[], ${events.map((e) => e.actorId)}::uuid[],
      ${events.map((e) => ('target' in e ? e.target : null))}::uuid[], ${events.map((e) => JSON.stringify(e.data))}::text[]
    ) with ordinality as u (kind, actor_id, target, data, n)
    returning *`
  if (rows.length !== events.length) throw new Error(`appendEvents: no room ${roomId}`)
  return rows.map(toRoomEvent).sort((a, b) => a.seq - b.seq)
}

/** Events with `afterSeq < seq <= uptoSeq` (no upper bound when null), ascending, at most `limit`. */
export async function readEventsAfter(sql: Sql, roomId: string, afterSeq: number, uptoSeq: number | null, limit: number): Promise<RoomEvent[]> {
  const rows = await sql<EventRow[]>`
    select * from chat.events
    where room_id = ${roomId} and seq > ${afterSeq} ${uptoSeq === null ? sql`` : sql`and seq <= ${uptoSeq}`}
    order by seq
    limit ${limit}`
  return rows.map(toRoomEvent)
}

/**
 * The room's stream after `afterSeq`: messages (in their current state) and events merged
 * by seq, at most `limit`. Each table is read by its primary key range, both at once; the
 * first `limit` of the merge are complete, since each read returned its first `limit`.
 */
export async function readTimelineAfter(sql: Sql, roomId: string, afterSeq: number, uptoSeq: number | null, limit: number): Promise<StreamItem[]> {
  const [messages, events] = await Promise.all([
    readMessagesAfter(sql, roomId, afterSeq, uptoSeq, limit),
    readEventsAfter(sql, roomId, afterSeq, uptoSeq, limit),
  ])
  return mergeBySeq(messages, events, limit)
}

export type EventsPageResult = { ok: true; page: TimelinePage } | { ok: false; reason: AccessFailure }

/** `GET /chat/rooms/:id/events`: members only (checked on the primary); one item more than the page is read to know whether another follows. */
export async function readEventsPage(deps: Pick<ChatDeps, 'sql' | 'reads' | 'config'>, roomId: string, userId: string, query: EventsQuery): Promise<EventsPageResult> {
  const access = await findRoomAccess(deps.sql, roomId, userId)
  const failure = findAccessFailure(access)
  if (failure !== null) return { ok: false, reason: failure }
  const limit = clampLimit(query.limit, deps.config.EVENTS_PAGE_DEFAULT, deps.config.EVENTS_PAGE_MAX)
  // Membership on the primary; the stream (from the replica once it holds what that check
  // saw) up to the last seq the check found: every seq up to it was committed before either
  // table is read, so the two reads cannot disagree about a seq committed between them.
  const { lastSeq } = access!
  const items = await deps.reads.forRoom(roomId, lastSeq, (sql) => readTimelineAfter(sql, roomId, Number(query.after ?? 0), lastSeq, limit + 1))
  const page = items.slice(0, limit)
  return { ok: true, page: { items: page.map(toTimelineItem), nextCursor: items.length > limit ? page[page.length - 1].seq : null } }
}
