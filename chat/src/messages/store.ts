import type { Message } from '@chat/common/chat-protocol'
import { withTimeout } from '@chat/common/async'
import { runInOneRoundTrip, type Sql } from '@chat/common/db'
import { refusedByPostgres } from '@chat/common/errors'
import type { Logger } from '@chat/common/logger'
import { countDependencyError } from '@chat/common/metrics'
import type { ChatConfig } from '../config'
import { messagesStored, storeBatchSize, storeDuration } from '../metrics'
import { createFailureGate } from './failure-gate'
import { MESSAGE_COLUMNS, toMessage, type MessageRow } from './model'

export type NewMessage = { roomId: string; senderId: string; body: string; clientId: string; replyTo?: string }
export type StoreResult = { ok: true; message: Message; duplicate: boolean } | { ok: false; reason: 'UNAVAILABLE' | 'NOT_A_MEMBER' | 'BAD_REPLY' }

export type StoreSettings = Pick<ChatConfig, 'STORE_BATCH_MAX' | 'STORE_QUEUE_MAX' | 'STORE_STATEMENT_TIMEOUT_MS' | 'STORE_FAILURE_BACKOFF_MS'>

/** Serialization failures, deadlocks and a clientId raced in by another instance: retrying is safe. */
const RETRYABLE_CODES = new Set(['40001', '40P01', '23505'])
const MAX_ATTEMPTS = 3
/**
 * The backstop behind statement_timeout, as a multiple of it: Postgres cancels a slow
 * statement itself, but a connection that went silent (a cut network) answers nothing,
 * not even the cancellation. A batch not committed by then is answered as not stored; if it
 * commits later anyway, the client's retry with the same clientId is acknowledged with the
 * original seq: an error may be false, an ack never.
 */
const BACKSTOP_FACTOR = 2

const UNAVAILABLE: StoreResult = { ok: false, reason: 'UNAVAILABLE' }
const NOT_A_MEMBER: StoreResult = { ok: false, reason: 'NOT_A_MEMBER' }
const BAD_REPLY: StoreResult = { ok: false, reason: 'BAD_REPLY' }

type Pending = NewMessage & { resolve: (result: StoreResult) => void }

/**
 * Stores messages with group commit: while one transaction is in flight, new messages
 * queue, and the next transaction takes them all. One message alone costs one
 * transaction; a thousand arriving together cost a handful. A promise resolves only
 * after its message is committed, so an ack always means stored. Membership is checked in
 * the same transaction, so a sender who is no longer a member is refused, never stored.
 *
 * The queue is bounded, and once a batch has failed every waiting and new send is
 * answered UNAVAILABLE at once until a probe batch succeeds (see failure-gate.ts).
 */
export function createMessageStore(sql: Sql, log: Logger, settings: StoreSettings, onStored: (messages: Message[]) => void) {
  const queue: Pending[] = []
  const gate = createFailureGate(settings.STORE_FAILURE_BACKOFF_MS)
  const backstopMs = settings.STORE_STATEMENT_TIMEOUT_MS * BACKSTOP_FACTOR
  let flushing = false

  const storeOne = async (batch: Pending[]): Promise<StoreResult[]> => {
    storeBatchSize.observe(batch.length)
    const endTimer = storeDuration.startTimer()
    try {
      const results = await withTimeout(storeWithRetry(sql, batch, settings.STORE_STATEMENT_TIMEOUT_MS), backstopMs)
      endTimer({ result: 'stored' })
      gate.succeeded()
      return results
    } catch (error) {
      endTimer({ result: 'failed' })
      if (refusedByPostgres(error)) return storeOneByOne(batch, error)
      countDependencyError(error, 'store')
      log.error('storing messages failed', { count: batch.length, error })
      gate.failed()
      // Everything still queued would meet the same database: answer it now, not one timeout each.
      for (const pending of queue.splice(0)) pending.resolve(UNAVAILABLE)
      return batch.map(() => UNAVAILABLE)
    }
  }

  /**
   * Postgres refused the batch for something in it (a value it cannot take that got past
   * validation): the database is fine, so the gate stays open, and each message is tried
   * alone, so only the one at fault fails (UNAVAILABLE: its sender may not resend it as is).
   */
  const storeOneByOne = async (batch: Pending[], error: unknown): Promise<StoreResult[]> => {
    log.warn('a batch was refused; storing its messages one by one', { count: batch.length, error })
    if (batch.length === 1) return [UNAVAILABLE]
    const results: StoreResult[] = []
    for (const pending of batch) results.push(...(await storeOne([pending])))
    return results
  }

  const flush = async () => {
    flushing = true
    while (queue.length > 0) {
      const batch = queue.splice(0, settings.STORE_BATCH_MAX)
      const results = await storeOne(batch)
      batch.forEach((pending, i) => pending.resolve(results[i]))
      const stored = results.flatMap((r) => (r.ok && !r.duplicate ? [r.message] : []))
      if (stored.length > 0) {
        messagesStored.inc(stored.length)
        onStored(stored)
      }
    }
    flushing = false
  }

  return {
    store(message: NewMessage): Promise<StoreResult> {
      if (queue.length >= settings.STORE_QUEUE_MAX || !gate.admits()) return Promise.resolve(UNAVAILABLE)
      return new Promise((resolve) => {
        queue.push({ ...message, resolve })
        if (!flushing) void flush()
      })
    },
  }
}
export type MessageStore = ReturnType<typeof createMessageStore>

async function storeWithRetry(sql: Sql, batch: NewMessage[], statementTimeoutMs: number): Promise<StoreResult[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await storeBatch(sql, batch, statementTimeoutMs)
    } catch (error) {
      if (attempt >= MAX_ATTEMPTS || !RETRYABLE_CODES.has((error as { code?: string }).code ?? '')) throw error
    }
  }
}

/**
 * A row of the storing statement: a message it inserted (by its place in the batch, with
 * what Postgres chose; the rest is the batch's own), one stored earlier under the same
 * clientId (whole), or a member's message refused for its reply (by its place).
 */
type StoredRow =
  | { outcome: 'new'; ord: string; seq: string; id: string; created_at: Date }
  | { outcome: 'bad-reply'; ord: string }
  | ({ outcome: 'earlier'; ord: null } & MessageRow)

/**
 * One transaction in one round trip (see runInOneRoundTrip), two statements whatever the
 * batch size: lock the batch's rooms in id order (no deadlock between instances, and
 * leave/removal lock the room row too), then one statement that skips clientIds stored
 * before (or repeated within the batch: the first wins), keeps messages whose sender is a
 * member and whose `replyTo` is a message of the same room, reserves a seq range per room
 * for those in batch order, and inserts them. It is a statement of its own on purpose:
 * under READ COMMITTED it takes its snapshot after the lock was granted, so it sees a leave
 * that committed while the lock was awaited. Refused messages take no seq, so seqs stay
 * gapless; nothing holds the rooms' locks across a round trip to this process.
 */
async function storeBatch(sql: Sql, batch: NewMessage[], statementTimeoutMs: number): Promise<StoreResult[]> {
  const roomIds = [...new Set(batch.map((m) => m.roomId.toLowerCase()))].sort()
  const [, rows] = await runInOneRoundTrip(sql, (tx) => [
    tx`select id from chat.rooms where id = any(${roomIds}::uuid[]) order by id for update`,
    // New messages come back as (ord, seq, id, created_at) only: the rest is the batch's, not worth decoding again.
    tx<StoredRow[]>`
      with batch as (
        select * from unnest(
          ${batch.map((m) => m.roomId)}::uuid[], ${batch.map((m) => m.senderId)}::uuid[], ${batch.map((m) => m.clientId)}::text[],
          ${batch.map((m) => m.body)}::text[], ${batch.map((m) => m.replyTo ?? null)}::uuid[]
        ) with ordinality as b (room_id, sender_id, client_id, body, reply_to, ord)
      ),
      earlier as (
        select ${tx(MESSAGE_COLUMNS.map((c) => `m.${c}`))} from chat.messages m
        join (select distinct room_id, sender_id, client_id from batch) k using (room_id, sender_id, client_id)
      ),
      fresh as (
        select distinct on (b.room_id, b.sender_id, b.client_id) b.* from batch b
        where not exists (select from earlier e where e.room_id = b.room_id and e.sender_id = b.sender_id and e.client_id = b.client_id)
        order by b.room_id, b.sender_id, b.client_id, b.ord
      ),
      members as (
        select f.*, f.reply_to is null or exists (select from chat.messages r where r.id = f.reply_to and r.room_id = f.room_id) as reply_ok
        from fresh f where exists (select from chat.members m where m.room_id = f.room_id and m.user_id = f.sender_id)
      ),
      counted as (select room_id, count(*) as n from members where reply_ok group by room_id),
      reserved as (
        update chat.rooms r set last_seq = r.last_seq + c.n from counted c where r.id = c.room_id
      ),
      -- The room rows as this statement's snapshot has them: before the update above, which
      -- no part of the statement sees. No join with the update's output, whose row count a
      -- generic plan cannot know (a nested loop over both, quadratic in the batch).
      numbered as (
        select m.*, r.last_seq + row_number() over (partition by m.room_id order by m.ord) as seq, gen_random_uuid() as id, now() as created_at
        from members m join chat.rooms r on r.id = m.room_id
        where m.reply_ok
      ),
      inserted as (
        insert into chat.messages (room_id, seq, id, sender_id, body, client_id, reply_to, created_at)
        select room_id, seq, id, sender_id, body, client_id, reply_to, created_at from numbered
      )
      select 'new' as outcome, n.ord, null::uuid as room_id, n.seq, n.id, null::uuid as sender_id, null as body, null as client_id,
        n.created_at, null::uuid as reply_to, null::timestamptz as edited_at, null::timestamptz as deleted_at
      from numbered n
      union all
      select 'earlier', null, e.* from earlier e
      union all
      select 'bad-reply', m.ord, null, null, null, null, null, null, null, null, null, null
      from members m where not m.reply_ok`,
  ], { genericPlan: true, statementTimeoutMs })
  /** Per idempotency key: the message stored for it (now or earlier), or that it was refused for its reply. */
  const found = new Map<string, { message: Message; fresh: boolean } | 'bad-reply'>()
  for (const row of rows) {
    if (row.outcome === 'earlier') {
      found.set(idempotencyKey(row.room_id, row.sender_id, row.client_id), { message: toMessage(row), fresh: false })
      continue
    }
    const m = batch[Number(row.ord) - 1]
    const key = idempotencyKey(m.roomId, m.senderId, m.clientId)
    if (row.outcome === 'bad-reply') {
      found.set(key, 'bad-reply')
      continue
    }
    // The room as the sender named it: the room's topic and channel use that spelling, like every ack.
    const message: Message = { id: row.id, room: m.roomId, seq: Number(row.seq), senderId: m.senderId, body: m.body, clientId: m.clientId, createdAt: row.created_at.toISOString() }
    if (m.replyTo !== undefined) message.replyTo = m.replyTo.toLowerCase()
    found.set(key, { message, fresh: true })
  }
  const answered = new Set<string>()
  return batch.map((m): StoreResult => {
    const key = idempotencyKey(m.roomId, m.senderId, m.clientId)
    const stored = found.get(key)
    if (stored === undefined) return NOT_A_MEMBER
    if (stored === 'bad-reply') return BAD_REPLY
    // The first send of a clientId in the batch stored it; the others are its duplicates.
    const duplicate = !stored.fresh || answered.has(key)
    answered.add(key)
    return { ok: true, message: stored.message, duplicate }
  })
}

/** Postgres answers uuids in lower case; a client may send them in upper case. */
function idempotencyKey(roomId: string, senderId: string, clientId: string): string {
  return `${roomId.toLowerCase()}\u0000${senderId.toLowerCase()}\u0000${clientId}`
}
