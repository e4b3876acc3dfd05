import { t } from 'elysia'
import { Message } from '@chat/common/chat-protocol'
import type { TransactionSql } from 'postgres'
import type { Sql } from '@chat/common/db'
import { clampLimit, PageLimit } from '@chat/common/pagination'
import type { ChatDeps } from '../deps'
import { findAccessFailure, findRoomAccess, type AccessFailure } from '../rooms/service'
import { MESSAGE_COLUMNS, toMessage, type MessageRow } from './model'

/**
 * Cursors are digit strings, like `limit` (see PageLimit), so a bad one is reported under
 * its own name. 16 digits cover SEQ_MAX (rooms/model.ts); a larger value loses precision
 * as a number but still compares the same way with every stored `seq`.
 */
export const HistoryQuery = t.Object(
  {
    before: t.Optional(t.String({ pattern: '^[1-9][0-9]{0,15}$', description: 'Messages older than this `seq` (the previous page’s `nextCursor`)' })),
    after: t.Optional(t.String({ pattern: '^(?:0|[1-9][0-9]{0,15})$', description: 'Messages newer than this `seq`, oldest first' })),
    limit: PageLimit('Default 50; values above 100 are clamped'),
  },
  // Unknown parameters are allowed (clients add cache busters such as `_=…`); Elysia makes an object strict unless told.
  { additionalProperties: true },
)
export type HistoryQuery = typeof HistoryQuery.static

export const MessagePage = t.Object(
  {
    items: t.Array(Message, { description: 'Ascending `seq`' }),
    nextCursor: t.Nullable(t.Integer(), {
      description: 'Without `after`: the `before` of the next older page, null at the first message. With `after`: the `after` of the next newer page, null when caught up',
    }),
    lastSeq: t.Integer({
      minimum: 0,
      description:
        'The room’s `lastSeq` when the page was read: the items reflect every edit, deletion and reaction up to this seq and none after it, so a client applies only events with a larger seq to them',
    }),
  },
  { title: 'MessagePage' },
)
export type MessagePage = typeof MessagePage.static

export type HistoryResult = { ok: true; page: MessagePage } | { ok: false; reason: AccessFailure | 'BOTH_CURSORS' }

/**
 * A page of a room's history, always in ascending `seq`. Membership is checked on the
 * primary; the page (with its reactions) may come from the replica, once it holds the room
 * up to the `last_seq` that check found (see ReplicaReads.forRoom): never older than what
 * the caller may have seen.
 */
export async function readHistory(deps: Pick<ChatDeps, 'sql' | 'reads' | 'config'>, roomId: string, userId: string, query: HistoryQuery): Promise<HistoryResult> {
  if (query.before !== undefined && query.after !== undefined) return { ok: false, reason: 'BOTH_CURSORS' }
  const access = await findRoomAccess(deps.sql, roomId, userId)
  const failure = findAccessFailure(access)
  if (failure !== null) return { ok: false, reason: failure }
  const limit = clampLimit(query.limit, deps.config.HISTORY_PAGE_DEFAULT, deps.config.HISTORY_PAGE_MAX)
  // One snapshot for the room's seq, the messages and their reactions: a change commits with
  // its event (timeline/service.ts), so the page is exactly the state as of `lastSeq`, and a
  // client holding live events knows which of them the page already includes.
  const read = (sql: Sql) => readHistoryPage(sql, roomId, userId, query, limit)
  return { ok: true, page: await deps.reads.forRoom(roomId, access!.lastSeq, read, { snapshot: true }) }
}

/** One row more than the page is read to know whether another page follows, so the last page says so without an extra call. */
async function readHistoryPage(sql: Sql, roomId: string, userId: string, query: HistoryQuery, limit: number): Promise<MessagePage> {
  const [room] = await sql<{ last_seq: string }[]>`select last_seq from chat.rooms where id = ${roomId}`
  const lastSeq = Number(room?.last_seq ?? 0)
  if (query.after !== undefined) {
    const rows = await sql<MessageRow[]>`
      select ${sql(MESSAGE_COLUMNS)} from chat.messages where room_id = ${roomId} and seq > ${Number(query.after)}
      order by seq limit ${limit + 1}`
    const items = await withReactions(sql, rows.slice(0, limit).map(toMessage), userId)
    return { items, nextCursor: rows.length > limit ? items[items.length - 1].seq : null, lastSeq }
  }
  const rows = await sql<MessageRow[]>`
    select ${sql(MESSAGE_COLUMNS)} from chat.messages
    where room_id = ${roomId} ${query.before === undefined ? sql`` : sql`and seq < ${Number(query.before)}`}
    order by seq desc limit ${limit + 1}`
  const items = await withReactions(sql, rows.slice(0, limit).reverse().map(toMessage), userId)
  return { items, nextCursor: rows.length > limit ? items[0].seq : null, lastSeq }
}

/**
 * Adds each message's reactions, aggregated by Postgres in one query for the whole page
 * (the reactions' primary key starts with the message id): emoji in the order they were
 * first given, with their count and whether the caller is among them.
 */
export async function withReactions(sql: Sql | TransactionSql, messages: Message[], userId: string): Promise<Message[]> {
  const byMessage = new Map(messages.map((m) => [m.id, { ...m, reactions: [] as NonNullable<Message['reactions']> }]))
  if (messages.length > 0) {
    const rows = await sql<{ message_id: string; emoji: string; count: number; me: boolean }[]>`
      select message_id, emoji, count(*)::int as count, bool_or(user_id = ${userId}) as me
      from chat.reactions where message_id = any(${[...byMessage.keys()]}::uuid[])
      group by message_id, emoji
      order by message_id, min(created_at), emoji`
    for (const row of rows) byMessage.get(row.message_id)?.reactions.push({ emoji: row.emoji, count: row.count, me: row.me })
  }
  return [...byMessage.values()]
}
