import { clampLimit } from '@chat/common/pagination'
import type { ChatDeps } from '../deps'
import { withReactions } from '../messages/history'
import { MESSAGE_COLUMNS, toMessage, type MessageRow } from '../messages/model'
import { findAccessFailure, findRoomAccess, type AccessFailure } from '../rooms/service'
import { decodeSearchCursor, encodeSearchCursor } from './cursor'
import type { SearchPage, SearchQuery } from './model'

export type SearchResult = { ok: true; page: SearchPage } | { ok: false; reason: AccessFailure | 'BAD_CURSOR' | 'NO_WORDS' }

/** A message row with its position in the newest-first order, to the microsecond. */
type FoundRow = MessageRow & { position_time: string }

/**
 * Messages of the caller's rooms (or of one of them) whose text matches `q`, newest first,
 * keyset-paged by (created_at, room, seq). Membership is part of the searching statement,
 * so a member removed a moment ago finds nothing of that room. `q` is read by
 * `websearch_to_tsquery` (which never fails on odd input) twice: as written (`simple`, any
 * language, exact words) and stemmed in SEARCH_LANGUAGE; a message matching either is found.
 * Deleted messages have an erased body, hence an empty vector, and are filtered as well.
 * The rooms are an array rather than a join: a join makes Postgres repeat the GIN scan per
 * room; an array lets it choose one GIN scan (rare words) or the walk in time order (see
 * migration 004) by the word's frequency. One room is named as such, so Postgres knows
 * how small a share of the table it is and does not walk every room's messages for it.
 *
 * The search itself may run on the replica while it lags by at most
 * DATABASE_REPLICA_SEARCH_MAX_LAG_MS (ReplicaReads.withinLag): which messages match may then
 * be that stale (one stored a moment ago is not found yet). What must be current is checked on the primary (currentOnPrimary): membership, and
 * the state shown, so an erased or edited message never shows its old text and a member
 * removed a moment ago finds nothing.
 */
export async function searchMessages(deps: Pick<ChatDeps, 'sql' | 'searchReads' | 'config'>, userId: string, query: SearchQuery): Promise<SearchResult> {
  const { config } = deps
  const after = query.cursor === undefined ? null : decodeSearchCursor(query.cursor)
  if (after === undefined) return { ok: false, reason: 'BAD_CURSOR' }
  if (query.room !== undefined) {
    const failure = findAccessFailure(await findRoomAccess(deps.sql, query.room, userId))
    if (failure !== null) return { ok: false, reason: failure }
  }
  const limit = clampLimit(query.limit, config.SEARCH_PAGE_DEFAULT, config.SEARCH_PAGE_MAX)
  const { value: rows, fromReplica } = await deps.searchReads.withinLag(config.DATABASE_REPLICA_SEARCH_MAX_LAG_MS, (sql) => sql<FoundRow[]>`
    select ${sql(MESSAGE_COLUMNS)}, to_char(m.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as position_time
    from chat.messages m
    where ${
      query.room === undefined
        ? sql`m.room_id = any(array(select room_id from chat.members where user_id = ${userId}))`
        : sql`m.room_id = ${query.room} and exists (select 1 from chat.members where room_id = ${query.room} and user_id = ${userId})`
    }
      and m.search_vector @@ (websearch_to_tsquery('simple', ${query.q}) || websearch_to_tsquery(${config.SEARCH_LANGUAGE}::regconfig, ${query.q}))
      and m.deleted_at is null
      ${after === null ? sql`` : sql`and (m.created_at, m.room_id, m.seq) < (${after.createdAt}::timestamptz, ${after.room}::uuid, ${after.seq})`}
    order by m.created_at desc, m.room_id desc, m.seq desc
    limit ${limit + 1}`)
  if (rows.length === 0 && (await hasNoWords(deps, query.q))) return { ok: false, reason: 'NO_WORDS' }
  const page = rows.slice(0, limit)
  const last = page.at(-1)
  const nextCursor =
    rows.length > limit && last !== undefined ? encodeSearchCursor({ createdAt: last.position_time, room: last.room_id, seq: Number(last.seq) }) : null
  if (!fromReplica) return { ok: true, page: { items: await withReactions(deps.sql, page.map(toMessage), userId), nextCursor } }
  // Both by the ids found, so both at once: no round trip more than a search on the primary.
  const [shown, reacted] = await Promise.all([currentOnPrimary(deps, page, userId), withReactions(deps.sql, page.map(toMessage), userId)])
  const reactionsOf = new Map(reacted.map((message) => [message.id, message.reactions]))
  return { ok: true, page: { items: shown.map((row) => ({ ...toMessage(row), reactions: reactionsOf.get(row.id) ?? [] })), nextCursor } }
}

/**
 * Of messages found on the replica, those the caller may still see, in their state on the
 * primary, in the order found: not deleted since (the text is erased), in a room the caller
 * is still a member of. A page may come out shorter than `limit`; `nextCursor` still follows
 * what was found.
 */
async function currentOnPrimary(deps: Pick<ChatDeps, 'sql'>, found: MessageRow[], userId: string): Promise<MessageRow[]> {
  if (found.length === 0) return []
  const { sql } = deps
  const rows = await sql<MessageRow[]>`
    select ${sql(MESSAGE_COLUMNS)} from chat.messages m
    where m.id = any(${found.map((row) => row.id)}::uuid[]) and m.deleted_at is null
      and exists (select 1 from chat.members where room_id = m.room_id and user_id = ${userId})`
  const current = new Map(rows.map((row) => [row.id, row]))
  return found.flatMap((row) => current.get(row.id) ?? [])
}

/** Only operators or punctuation: nothing to look for (`simple` keeps stop words). Asked only when nothing was found, so a search that finds something never asks. */
async function hasNoWords(deps: Pick<ChatDeps, 'sql' | 'config'>, q: string): Promise<boolean> {
  const [row] = await deps.sql<{ nodes: number }[]>`
    select numnode(websearch_to_tsquery('simple', ${q}) || websearch_to_tsquery(${deps.config.SEARCH_LANGUAGE}::regconfig, ${q})) as nodes`
  return row.nodes === 0
}
