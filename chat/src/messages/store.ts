import type { Message } from '@chat/common/chat-protocol'
import { withTimeout } from '@chat/common/async'
import type { Sql } from '@chat/common/db'
import type { Logger } from '@chat/common/logger'
import { countDependencyError } from '@chat/common/metrics'
import { messagesStored, storeBatchSize, storeDuration } from '../metrics'
import { toMessage, type MessageRow } from './model'

export type NewMessage = { roomId: string; senderId: string; body: string; clientId: string }
export type StoreResult = { ok: true; message: Message; duplicate: boolean } | { ok: false; reason: 'UNAVAILABLE' }

/** Serialization failures, deadlocks and a clientId raced in by another instance: retrying is safe. */
const RETRYABLE_CODES = new Set(['40001', '40P01', '23505'])
const MAX_ATTEMPTS = 3
/**
 * A batch not committed by then is answered as not stored, so a hung connection cannot
 * hold senders forever. If it commits later anyway, the client's retry with the same
 * clientId is acknowledged with the original seq: an error may be false, an ack never.
 */
const STORE_TIMEOUT_MS = 10_000

type Pending = NewMessage & { resolve: (result: StoreResult) => void }

/**
 * Stores messages with group commit: while one transaction is in flight, new messages
 * queue, and the next transaction takes them all. One message alone costs one
 * transaction; a thousand arriving together cost a handful. A promise resolves only
 * after its message is committed, so an ack always means stored.
 */
export function createMessageStore(sql: Sql, log: Logger, batchMax: number, onStored: (messages: Message[]) => void) {
  const queue: Pending[] = []
  let flushing = false

  const flush = async () => {
    flushing = true
    while (queue.length > 0) {
      const batch = queue.splice(0, batchMax)
      storeBatchSize.observe(batch.length)
      const endTimer = storeDuration.startTimer()
      let results: StoreResult[]
      try {
        results = await withTimeout(storeWithRetry(sql, batch), STORE_TIMEOUT_MS)
        endTimer({ result: 'stored' })
      } catch (error) {
        endTimer({ result: 'failed' })
        countDependencyError(error, 'store')
        log.error('storing messages failed', { count: batch.length, error })
        results = batch.map(() => ({ ok: false, reason: 'UNAVAILABLE' }))
      }
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
      return new Promise((resolve) => {
        queue.push({ ...message, resolve })
        if (!flushing) void flush()
      })
    },
  }
}

async function storeWithRetry(sql: Sql, batch: NewMessage[]): Promise<StoreResult[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await storeBatch(sql, batch)
    } catch (error) {
      if (attempt >= MAX_ATTEMPTS || !RETRYABLE_CODES.has((error as { code?: string }).code ?? '')) throw error
    }
  }
}

/**
 * One transaction, four statements whatever the batch size: find re-sent clientIds,
 * lock the rooms in id order (no deadlock between instances) while reserving a seq range
 * per room, then insert every new message.
 */
async function storeBatch(sql: Sql, batch: NewMessage[]): Promise<StoreResult[]> {
  return sql.begin(async (tx) => {
    const earlier = new Map<string, Message>()
    const rows = await tx<MessageRow[]>`
      select m.* from chat.messages m
      join unnest(${batch.map((m) => m.roomId)}::uuid[], ${batch.map((m) => m.senderId)}::uuid[], ${batch.map((m) => m.clientId)}::text[])
        as k (room_id, sender_id, client_id) using (room_id, sender_id, client_id)`
    for (const row of rows) earlier.set(idempotencyKey(row.room_id, row.sender_id, row.client_id), toMessage(row))

    // Within the batch too, the first of several sends with one clientId wins.
    const fresh = new Map<string, NewMessage>()
    for (const m of batch) {
      const key = idempotencyKey(m.roomId, m.senderId, m.clientId)
      if (!earlier.has(key) && !fresh.has(key)) fresh.set(key, m)
    }
    if (fresh.size > 0) {
      const perRoom = new Map<string, number>()
      for (const m of fresh.values()) perRoom.set(m.roomId, (perRoom.get(m.roomId) ?? 0) + 1)
      const roomIds = [...perRoom.keys()].sort()
      const reserved = await tx<{ id: string; last_seq: string; now: Date }[]>`
        with locked as (
          select id from chat.rooms where id = any(${roomIds}::uuid[]) order by id for update
        )
        update chat.rooms r set last_seq = r.last_seq + v.n
        from locked, unnest(${roomIds}::uuid[], ${roomIds.map((id) => perRoom.get(id)!)}::int[]) as v (id, n)
        where r.id = locked.id and r.id = v.id
        returning r.id, r.last_seq, now() as now`
      const nextSeq = new Map(reserved.map((r) => [r.id, Number(r.last_seq) - perRoom.get(r.id)! + 1]))
      const createdAt = reserved[0].now
      const inserted: Message[] = []
      for (const [key, m] of fresh) {
        const seq = nextSeq.get(m.roomId)!
        nextSeq.set(m.roomId, seq + 1)
        const message: Message = {
          id: crypto.randomUUID(),
          room: m.roomId,
          seq,
          senderId: m.senderId,
          body: m.body,
          clientId: m.clientId,
          createdAt: createdAt.toISOString(),
        }
        inserted.push(message)
        earlier.set(key, message)
      }
      await tx`
        insert into chat.messages (room_id, seq, id, sender_id, body, client_id, created_at)
        select u.*, ${createdAt}::timestamptz from unnest(
          ${inserted.map((m) => m.room)}::uuid[], ${inserted.map((m) => m.seq)}::bigint[], ${inserted.map((m) => m.id)}::uuid[],
          ${inserted.map((m) => m.senderId)}::uuid[], ${inserted.map((m) => m.body)}::text[], ${inserted.map((m) => m.clientId)}::text[]
        ) as u`
    }
    const freshIds = new Set([...fresh.values()].map((m) => idempotencyKey(m.roomId, m.senderId, m.clientId)))
    const firstSeen = new Set<string>()
    return batch.map((m) => {
      const key = idempotencyKey(m.roomId, m.senderId, m.clientId)
      const message = earlier.get(key)!
      const isNew = freshIds.has(key) && !firstSeen.has(key)
      firstSeen.add(key)
      return { ok: true as const, message, duplicate: !isNew }
    })
  })
}

function idempotencyKey(roomId: string, senderId: string, clientId: string): string {
  return `${roomId}\u0000${senderId}\u0000${clientId}`
}
