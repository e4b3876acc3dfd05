import type { TransactionSql as Tx } from 'postgres'
import type { Message } from '@chat/common/chat-protocol'
import { withTimeout } from '@chat/common/async'
import type { Sql } from '@chat/common/db'
import type { Logger } from '@chat/common/logger'
import { countDependencyError } from '@chat/common/metrics'
import type { ChatConfig } from '../config'
import { messagesStored, storeBatchSize, storeDuration } from '../metrics'
import { createFailureGate } from './failure-gate'
import { toMessage, type MessageRow } from './model'

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
      countDependencyError(error, 'store')
      log.error('storing messages failed', { count: batch.length, error })
      gate.failed()
      // Everything still queued would meet the same database: answer it now, not one timeout each.
      for (const pending of queue.splice(0)) pending.resolve(UNAVAILABLE)
      return batch.map(() => UNAVAILABLE)
    }
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
 * One transaction, five statements whatever the batch size (six when some reply): find
 * re-sent clientIds, lock the rooms in id order (no deadlock between instances, and
 * leave/removal lock the room row too), keep only messages whose sender is a member at
 * that moment and whose `replyTo` is a message of the same room, reserve a seq range per
 * room for those, then insert them. Refused messages take no seq, so seqs stay gapless.
 */
async function storeBatch(sql: Sql, batch: NewMessage[], statementTimeoutMs: number): Promise<StoreResult[]> {
  return sql.begin(async (tx) => {
    // Sent in the same round trip as the first query; from then on Postgres cancels any
    // statement of this transaction that runs longer. The value is a validated number.
    const [, rows] = await Promise.all([
      tx.unsafe(`set local statement_timeout = ${Math.round(statementTimeoutMs)}`),
      tx<MessageRow[]>`
        select m.* from chat.messages m
        join unnest(${batch.map((m) => m.roomId)}::uuid[], ${batch.map((m) => m.senderId)}::uuid[], ${batch.map((m) => m.clientId)}::text[])
          as k (room_id, sender_id, client_id) using (room_id, sender_id, client_id)`,
    ])
    const earlier = new Map<string, Message>()
    for (const row of rows) earlier.set(idempotencyKey(row.room_id, row.sender_id, row.client_id), toMessage(row))

    // Within the batch too, the first of several sends with one clientId wins.
    const fresh = new Map<string, NewMessage>()
    for (const m of batch) {
      const key = idempotencyKey(m.roomId, m.senderId, m.clientId)
      if (!earlier.has(key) && !fresh.has(key)) fresh.set(key, m)
    }
    const members = fresh.size === 0 ? fresh : await keepMembers(tx, fresh)
    const accepted = await keepValidReplies(tx, members)
    if (accepted.size > 0) {
      for (const [key, message] of await insertMessages(tx, accepted)) earlier.set(key, message)
    }
    const firstSeen = new Set<string>()
    return batch.map((m): StoreResult => {
      const key = idempotencyKey(m.roomId, m.senderId, m.clientId)
      const message = earlier.get(key)
      if (message === undefined) return members.has(key) ? BAD_REPLY : NOT_A_MEMBER
      const isNew = accepted.has(key) && !firstSeen.has(key)
      firstSeen.add(key)
      return { ok: true, message, duplicate: !isNew }
    })
  })
}

/**
 * Locks the batch's rooms in id order, then keeps the messages whose sender is a member.
 * Two statements on purpose: under READ COMMITTED the second takes its snapshot after the
 * lock was granted, so it sees a leave that committed while this transaction waited.
 * An unknown room has no row to lock and no members: its messages are refused too.
 */
async function keepMembers(tx: Tx, fresh: Map<string, NewMessage>): Promise<Map<string, NewMessage>> {
  const roomIds = [...new Set([...fresh.values()].map((m) => m.roomId))].sort()
  await tx`select id from chat.rooms where id = any(${roomIds}::uuid[]) order by id for update`
  const pairs = [...new Map([...fresh.values()].map((m) => [`${m.roomId}|${m.senderId}`, m])).values()]
  const members = await tx<{ room_id: string; user_id: string }[]>`
    select m.room_id, m.user_id from chat.members m
    join unnest(${pairs.map((m) => m.roomId)}::uuid[], ${pairs.map((m) => m.senderId)}::uuid[]) as k (room_id, user_id) using (room_id, user_id)`
  const allowed = new Set(members.map((row) => `${row.room_id}|${row.user_id}`))
  return new Map([...fresh].filter(([, m]) => allowed.has(`${m.roomId}|${m.senderId}`)))
}

/** Keeps the messages that reply to nothing or to a message of their own room (a tombstone counts: its id stays). */
async function keepValidReplies(tx: Tx, members: Map<string, NewMessage>): Promise<Map<string, NewMessage>> {
  const replyIds = [...new Set([...members.values()].flatMap((m) => (m.replyTo === undefined ? [] : [m.replyTo])))]
  if (replyIds.length === 0) return members
  const rows = await tx<{ id: string; room_id: string }[]>`select id, room_id from chat.messages where id = any(${replyIds}::uuid[])`
  const roomOf = new Map(rows.map((row) => [row.id, row.room_id]))
  return new Map([...members].filter(([, m]) => m.replyTo === undefined || roomOf.get(m.replyTo.toLowerCase()) === m.roomId.toLowerCase()))
}

/** Reserves a seq range per (already locked) room and inserts the messages with them. */
async function insertMessages(tx: Tx, accepted: Map<string, NewMessage>): Promise<Map<string, Message>> {
  const perRoom = new Map<string, number>()
  for (const m of accepted.values()) perRoom.set(m.roomId, (perRoom.get(m.roomId) ?? 0) + 1)
  const roomIds = [...perRoom.keys()]
  const reserved = await tx<{ id: string; last_seq: string; now: Date }[]>`
    update chat.rooms r set last_seq = r.last_seq + v.n
    from unnest(${roomIds}::uuid[], ${roomIds.map((id) => perRoom.get(id)!)}::int[]) as v (id, n)
    where r.id = v.id
    returning r.id, r.last_seq, now() as now`
  const nextSeq = new Map(reserved.map((r) => [r.id, Number(r.last_seq) - perRoom.get(r.id)! + 1]))
  const createdAt = reserved[0].now
  const inserted = new Map<string, Message>()
  for (const [key, m] of accepted) {
    const seq = nextSeq.get(m.roomId)!
    nextSeq.set(m.roomId, seq + 1)
    const message: Message = { id: crypto.randomUUID(), room: m.roomId, seq, senderId: m.senderId, body: m.body, clientId: m.clientId, createdAt: createdAt.toISOString() }
    if (m.replyTo !== undefined) message.replyTo = m.replyTo.toLowerCase()
    inserted.set(key, message)
  }
  const list = [...inserted.values()]
  await tx`
    insert into chat.messages (room_id, seq, id, sender_id, body, client_id, reply_to, created_at)
    select u.*, ${createdAt}::timestamptz from unnest(
      ${list.map((m) => m.room)}::uuid[], ${list.map((m) => m.seq)}::bigint[], ${list.map((m) => m.id)}::uuid[],
      ${list.map((m) => m.senderId)}::uuid[], ${list.map((m) => m.body)}::text[], ${list.map((m) => m.clientId)}::text[],
      ${list.map((m) => m.replyTo ?? null)}::uuid[]
    ) as u`
  return inserted
}

function idempotencyKey(roomId: string, senderId: string, clientId: string): string {
  return `${roomId}\u0000${senderId}\u0000${clientId}`
}
