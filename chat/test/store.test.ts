import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Message } from '@chat/common/chat-protocol'
import { createLogger } from '@chat/common/logger'
import { startTestStack, type TestStack } from '../../scripts/test-stack'
import { createMessageStore, type MessageStore, type StoreResult } from '../src/messages/store'

/**
 * The message store against the real Postgres of a stack (one chat instance, for its
 * migrations): what one storing transaction answers for a batch mixing every case.
 */
let stack: TestStack
let store: MessageStore
const published: Message[] = []

beforeAll(async () => {
  stack = await startTestStack({ chat: 1, caddy: false })
  const settings = { STORE_BATCH_MAX: 500, STORE_QUEUE_MAX: 10_000, STORE_STATEMENT_TIMEOUT_MS: 5000, STORE_FAILURE_BACKOFF_MS: 1000 }
  store = createMessageStore(stack.sql, createLogger('store-test', 'error'), settings, (messages) => published.push(...messages))
}, 60_000)
afterAll(async () => {
  await stack?.stop()
})

async function roomWith(members: string[]): Promise<string> {
  const room = crypto.randomUUID()
  await stack.sql`insert into chat.rooms (id, name, owner_id) values (${room}, 'store test', ${members[0]})`
  for (const user of members) await stack.sql`insert into chat.members (room_id, user_id, role) values (${room}, ${user}, 'member')`
  return room
}

const seqOf = (result: StoreResult) => (result.ok ? result.message.seq : result.reason)

describe('one storing transaction per batch', () => {
  test('a batch mixing fresh sends, a repeated clientId, a non-member and a bad reply: stored ones get gapless seqs in send order, refusals take none', async () => {
    const [alice, bob, mallory] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()]
    const room = await roomWith([alice, bob])
    const other = await roomWith([alice])
    const first = await store.store({ roomId: other, senderId: alice, body: 'elsewhere', clientId: 'x' })
    expect(first.ok).toBe(true)
    const elsewhere = first.ok ? first.message.id : ''

    // Sent together: the first is stored at once, the others queue behind it and form one batch.
    const results = await Promise.all([
      store.store({ roomId: room, senderId: alice, body: 'one', clientId: 'a1' }),
      store.store({ roomId: room, senderId: bob, body: 'two', clientId: 'b1' }),
      store.store({ roomId: room, senderId: mallory, body: 'not a member', clientId: 'm1' }),
      store.store({ roomId: room, senderId: alice, body: 'repeat of one', clientId: 'a1' }),
      store.store({ roomId: room, senderId: bob, body: 'replies elsewhere', clientId: 'b2', replyTo: elsewhere }),
      store.store({ roomId: room.toUpperCase(), senderId: alice, body: 'three', clientId: 'a2' }),
    ])
    expect(results.map(seqOf)).toEqual([1, 2, 'NOT_A_MEMBER', 1, 'BAD_REPLY', 3])
    expect(results.map((r) => (r.ok ? r.duplicate : null))).toEqual([false, false, null, true, null, false])
    // The ack names the room as the sender did; the stored row is the same message.
    const third = results[5]
    expect(third.ok && third.message.room).toBe(room.toUpperCase())
    const rows = await stack.sql<{ seq: string; body: string; client_id: string; id: string }[]>`
      select seq, body, client_id, id from chat.messages where room_id = ${room} order by seq`
    expect(rows.map((r) => [Number(r.seq), r.body, r.client_id])).toEqual([
      [1, 'one', 'a1'],
      [2, 'two', 'b1'],
      [3, 'three', 'a2'],
    ])
    expect(results[0].ok && results[0].message.id).toBe(rows[0].id)
    // Published once each: duplicates and refusals are not.
    expect(published.filter((m) => m.room.toLowerCase() === room).map((m) => m.body)).toEqual(['one', 'two', 'three'])

    // Sent again later, the clientId is answered with the stored message, unchanged.
    const again = await store.store({ roomId: room, senderId: bob, body: 'two, resent', clientId: 'b1' })
    expect(again).toMatchObject({ ok: true, duplicate: true, message: { seq: 2, body: 'two', id: rows[1].id } })
    const [{ last_seq }] = await stack.sql<{ last_seq: string }[]>`select last_seq from chat.rooms where id = ${room}`
    expect(Number(last_seq)).toBe(3)
  })

  test('a batch Postgres refuses for one message is stored one by one: only that message fails, and the store stays open', async () => {
    const alice = crypto.randomUUID()
    const room = await roomWith([alice])
    const first = store.store({ roomId: room, senderId: alice, body: 'first', clientId: 'p0' })
    // Queued together behind the first commit: one value Postgres cannot store (validation keeps it out of real frames).
    const batch = await Promise.all([
      store.store({ roomId: room, senderId: alice, body: 'before', clientId: 'p1' }),
      store.store({ roomId: room, senderId: alice, body: 'poison', clientId: 'p\u0000' }),
      store.store({ roomId: room, senderId: alice, body: 'after', clientId: 'p2' }),
    ])
    expect(seqOf(await first)).toBe(1)
    expect(batch.map(seqOf)).toEqual([2, 'UNAVAILABLE', 3])
    expect(seqOf(await store.store({ roomId: room, senderId: alice, body: 'later', clientId: 'p3' }))).toBe(4)
  })
})
