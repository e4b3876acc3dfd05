import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestStack, type TestStack } from '../../test/harness'
import { baseSeqOf, createRoom, person, range, twoInRoom, type Person } from '../../test/chat-helpers'
import { call, expectError } from '../../test/client'
import { waitUntil } from '../../test/wait'
import { connect, joinRoom, type Frame, type SocketClient } from '../../test/ws-client'

const CHANGES_MAX = 40
const REACTIONS_MAX = 3

let stack: TestStack
beforeAll(async () => {
  stack = await startTestStack({
    chat: 2,
    env: { MESSAGE_CHANGES_MAX: String(CHANGES_MAX), MESSAGE_CHANGES_WINDOW_SECONDS: '60', REACTIONS_MAX_PER_MESSAGE: String(REACTIONS_MAX), MESSAGE_MAX_CHARS: '20' },
  })
})
afterAll(() => stack?.stop())

const inRoom = (room: string) => (f: Frame) => (f.type === 'message' || f.type === 'event') && f.room === room
const eventsOf = (socket: SocketClient, room: string, kind: string) => socket.frames.filter((f) => f.type === 'event' && f.room === room && f.kind === kind)
const path = (room: string, message: string, rest = '') => `/chat/rooms/${room}/messages/${message}${rest}`
const reaction = (room: string, message: string, emoji: string) => path(room, message, `/reactions/${encodeURIComponent(emoji)}`)

let sendCounter = 0
/** Sends a message over `socket` and returns its ack. */
async function send(socket: SocketClient, room: string, body: string, replyTo?: string): Promise<Frame> {
  const clientId = `c${++sendCounter}`
  socket.send({ type: 'send', room, body, clientId, ref: clientId, ...(replyTo === undefined ? {} : { replyTo }) })
  const answer = await socket.next((f) => (f.type === 'ack' && f.clientId === clientId) || (f.type === 'error' && f.ref === clientId))
  return answer
}

/** Two members of one public room, each with a socket on another chat instance. */
async function roomWithTwo(): Promise<{ room: string; alice: Person; bob: Person; onA: SocketClient; onB: SocketClient }> {
  const [a, b] = stack.instancesOf('chat')
  const { alice, bob, room, a: onA, b: onB } = await twoInRoom(stack.url, [a.url, b.url])
  for (const socket of [onA, onB]) await joinRoom(socket, room)
  return { room, alice, bob, onA, onB }
}

async function history(room: string, who: Person) {
  const answer = await call(stack.url, 'GET', `/chat/rooms/${room}/messages`, { token: who.accessToken })
  expect(answer.status).toBe(200)
  return answer.body.items as Frame[]
}

describe('editing a message', () => {
  test('the sender edits: 200 with editedAt, and sockets on both instances get event{edit} with the new body', async () => {
    const { room, alice, onA, onB } = await roomWithTwo()
    const { id, seq } = await send(onA, room, 'helo')
    const answer = await call(stack.url, 'PATCH', path(room, id), { token: alice.accessToken, body: { body: 'hello' } })
    expect(answer.status).toBe(200)
    expect(answer.body).toMatchObject({ id, room, seq, body: 'hello', senderId: alice.userId })
    expect(typeof answer.body.editedAt).toBe('string')
    for (const socket of [onA, onB]) {
      const event = await socket.next((f) => f.type === 'event' && f.kind === 'edit', 5000)
      expect(event).toMatchObject({ type: 'event', room, seq: seq + 1, kind: 'edit', actorId: alice.userId, target: id, data: { body: 'hello' } })
    }
    const [message] = await history(room, alice)
    expect(message).toMatchObject({ id, body: 'hello', editedAt: answer.body.editedAt, reactions: [] })
    onA.close()
    onB.close()
  })

  test('another member gets 403 NOT_ALLOWED; an unknown id, a message of another room and bad bodies are refused; nothing is emitted', async () => {
    const { room, alice, bob, onA, onB } = await roomWithTwo()
    const { id } = await send(onA, room, 'mine')
    expectError(await call(stack.url, 'PATCH', path(room, id), { token: bob.accessToken, body: { body: 'theirs' } }), 403, 'NOT_ALLOWED')
    expectError(await call(stack.url, 'PATCH', path(room, crypto.randomUUID()), { token: alice.accessToken, body: { body: 'x' } }), 404, 'NOT_FOUND')
    const other = await createRoom(stack.url, alice)
    expectError(await call(stack.url, 'PATCH', path(other, id), { token: alice.accessToken, body: { body: 'x' } }), 404, 'NOT_FOUND')
    for (const body of ['', 'x'.repeat(21), 'nul\u0000', '\uD800lone']) {
      expectError(await call(stack.url, 'PATCH', path(room, id), { token: alice.accessToken, body: { body } }), 422, 'VALIDATION_FAILED')
    }
    expectError(await call(stack.url, 'PATCH', path(room, id), { token: alice.accessToken, body: { body: 'x', extra: 1 } }), 422, 'VALIDATION_FAILED')
    expectError(await call(stack.url, 'PATCH', path(room, 'not-a-uuid'), { token: alice.accessToken, body: { body: 'x' } }), 422, 'VALIDATION_FAILED')
    expect(eventsOf(onB, room, 'edit')).toEqual([])
    expect((await history(room, alice))[0]).toMatchObject({ body: 'mine' })
    expect((await history(room, alice))[0].editedAt).toBeUndefined()
    onA.close()
    onB.close()
  })

  test('a sender who is no longer a member cannot edit: 403 for a public room, 404 for a private one', async () => {
    const { room, alice, bob, onA, onB } = await roomWithTwo()
    const { id } = await send(onB, room, 'before leaving')
    expect((await call(stack.url, 'POST', `/chat/rooms/${room}/leave`, { token: bob.accessToken })).status).toBe(204)
    expectError(await call(stack.url, 'PATCH', path(room, id), { token: bob.accessToken, body: { body: 'sneaky' } }), 403, 'FORBIDDEN')
    expectError(await call(stack.url, 'PUT', reaction(room, id, '👍'), { token: bob.accessToken }), 403, 'FORBIDDEN')

    const secret = (await call(stack.url, 'POST', '/chat/rooms', { token: alice.accessToken, body: { name: 'secret', private: true } })).body.id
    expectError(await call(stack.url, 'PATCH', path(secret, id), { token: bob.accessToken, body: { body: 'x' } }), 404, 'NOT_FOUND')
    onA.close()
    onB.close()
  })
})

describe('the stored stream', () => {
  test('an edit, a reaction and a deletion replay from GET /events and join{since} exactly as their live frames were', async () => {
    const { room, alice, bob, onA, onB } = await roomWithTwo()
    const { id, seq } = await send(onA, room, 'to be changed')
    expect((await call(stack.url, 'PATCH', path(room, id), { token: alice.accessToken, body: { body: 'changed' } })).status).toBe(200)
    expect((await call(stack.url, 'PUT', reaction(room, id, '👍'), { token: bob.accessToken })).status).toBe(204)
    expect((await call(stack.url, 'DELETE', path(room, id), { token: alice.accessToken })).status).toBe(204)
    const live = await onB.collect((f) => f.type === 'event' && f.target === id, 3, 5000)
    const stored = await call(stack.url, 'GET', `/chat/rooms/${room}/events?after=${seq}`, { token: alice.accessToken })
    expect(stored.status).toBe(200)
    const strip = ({ type: _type, ...rest }: Frame) => rest
    // The edit's body is erased from storage by the deletion; everything else is as it was sent.
    expect(stored.body.items).toEqual(live.map(strip).map((e) => (e.kind === 'edit' ? { ...e, data: { body: '' } } : e)))
    const replayer = await connect(stack.url, bob.accessToken)
    await joinRoom(replayer, room, seq)
    const replayed = await replayer.collect((f) => f.type === 'event' && f.target === id, 3, 5000)
    expect(replayed.map((f) => f.data)).toEqual([{ body: '' }, { emoji: '👍', added: true }, {}])
    for (const socket of [onA, onB, replayer]) socket.close()
  })
})

describe('authorization under the room lock', () => {
  test('an edit waiting behind a removal that commits is refused: membership is read after the room lock is granted', async () => {
    const { room, bob, onA, onB } = await roomWithTwo()
    const { id } = await send(onB, room, 'typo')
    let commitRemoval = () => {}
    const removed = Promise.withResolvers<void>()
    // A removal as the membership routes make it: room row locked, membership deleted, not yet committed.
    const removal = stack.sql.begin(async (tx) => {
      await tx`select id from chat.rooms where id = ${room} for update`
      await tx`delete from chat.members where room_id = ${room} and user_id = ${bob.userId}`
      removed.resolve()
      await new Promise<void>((resolve) => (commitRemoval = resolve))
    })
    await removed.promise
    const edit = call(stack.url, 'PATCH', path(room, id), { token: bob.accessToken, body: { body: 'slipped in' } })
    await waitUntil(
      async () => (await stack.sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`)[0].n > 0,
      'the edit waits for the room lock',
    )
    commitRemoval()
    await removal
    expectError(await edit, 403, 'FORBIDDEN')
    expect((await stack.sql`select body from chat.messages where id = ${id}`)[0].body).toBe('typo')
    onA.close()
    onB.close()
  })
})

describe('deleting a message', () => {
  test('the sender deletes: 204, event{delete} on both instances, the body and its edits are erased from storage, the tombstone keeps its seq and replies', async () => {
    const { room, alice, bob, onA, onB } = await roomWithTwo()
    const original = await send(onA, room, 'secret text')
    await call(stack.url, 'PATCH', path(room, original.id), { token: alice.accessToken, body: { body: 'secret edit' } })
    const reply = await send(onB, room, 'answer', original.id)
    expect((await call(stack.url, 'PUT', reaction(room, original.id, '👍'), { token: bob.accessToken })).status).toBe(204)

    expect((await call(stack.url, 'DELETE', path(room, original.id), { token: alice.accessToken })).status).toBe(204)
    for (const socket of [onA, onB]) {
      expect(await socket.next((f) => f.type === 'event' && f.kind === 'delete', 5000)).toMatchObject({ room, target: original.id, actorId: alice.userId, data: {} })
    }
    const [stored] = await stack.sql`select body, deleted_at from chat.messages where id = ${original.id}`
    expect(stored.body).toBe('')
    expect(stored.deleted_at).not.toBeNull()
    const leftovers = await stack.sql`select data from chat.events where room_id = ${room} and data::text like '%secret%'`
    expect(leftovers.length).toBe(0)
    expect((await stack.sql`select count(*)::int as n from chat.reactions where message_id = ${original.id}`)[0].n).toBe(0)

    const items = await history(room, bob)
    expect(items.map((m) => m.seq)).toEqual([original.seq, reply.seq])
    expect(items[0]).toMatchObject({ id: original.id, body: '', deleted: true, reactions: [] })
    expect(items[1]).toMatchObject({ id: reply.id, replyTo: original.id, body: 'answer' })

    // Afterwards it is gone for every change.
    expectError(await call(stack.url, 'PATCH', path(room, original.id), { token: alice.accessToken, body: { body: 'again' } }), 404, 'NOT_FOUND')
    expectError(await call(stack.url, 'PUT', reaction(room, original.id, '👍'), { token: bob.accessToken }), 404, 'NOT_FOUND')
    expectError(await call(stack.url, 'DELETE', path(room, original.id), { token: alice.accessToken }), 404, 'NOT_FOUND')
    onA.close()
    onB.close()
  })

  test('a plain member cannot delete another’s message (403 NOT_ALLOWED); the owner and an admin can', async () => {
    const { room, alice, bob, onA, onB } = await roomWithTwo()
    const carol = await person(stack.url)
    expect((await call(stack.url, 'POST', `/chat/rooms/${room}/join`, { token: carol.accessToken })).status).toBe(204)
    const fromBob = await send(onB, room, 'by bob')
    const fromAlice = await send(onA, room, 'by alice')
    expectError(await call(stack.url, 'DELETE', path(room, fromAlice.id), { token: bob.accessToken }), 403, 'NOT_ALLOWED')
    expect((await call(stack.url, 'DELETE', path(room, fromBob.id), { token: alice.accessToken })).status).toBe(204)
    // Roles are managed by their own routes; here the admin is made directly.
    await stack.sql`update chat.members set role = 'admin' where room_id = ${room} and user_id = ${carol.userId}`
    expect((await call(stack.url, 'DELETE', path(room, fromAlice.id), { token: carol.accessToken })).status).toBe(204)
    const items = await history(room, alice)
    expect(items.map((m) => m.deleted)).toEqual([true, true])
    onA.close()
    onB.close()
  })
})

describe('unread after a deletion', () => {
  test('a deleted message no longer counts as unread; events never do', async () => {
    const { room, alice, bob, onA, onB } = await roomWithTwo()
    const kept = await send(onA, room, 'kept')
    const gone = await send(onA, room, 'gone')
    await call(stack.url, 'PUT', reaction(room, kept.id, '👍'), { token: alice.accessToken })
    expect((await call(stack.url, 'DELETE', path(room, gone.id), { token: alice.accessToken })).status).toBe(204)
    const mine = await call(stack.url, 'GET', '/chat/rooms?mine=true', { token: bob.accessToken })
    expect(mine.body.items.find((r: Frame) => r.id === room).unread).toBe(1)
    onA.close()
    onB.close()
  })
})

describe('reactions', () => {
  test('add and remove are idempotent: one event per change, on both instances; history aggregates count and me', async () => {
    const { room, alice, bob, onA, onB } = await roomWithTwo()
    const { id } = await send(onA, room, 'react to me')
    for (let i = 0; i < 2; i++) expect((await call(stack.url, 'PUT', reaction(room, id, '👍'), { token: alice.accessToken })).status).toBe(204)
    expect((await call(stack.url, 'PUT', reaction(room, id, '👍'), { token: bob.accessToken })).status).toBe(204)
    expect((await call(stack.url, 'PUT', reaction(room, id, '🇫🇷'), { token: bob.accessToken })).status).toBe(204)
    for (const socket of [onA, onB]) {
      await socket.collect((f) => f.type === 'event' && f.kind === 'reaction', 3, 5000)
    }
    expect((await history(room, alice))[0].reactions).toEqual([
      { emoji: '👍', count: 2, me: true },
      { emoji: '🇫🇷', count: 1, me: false },
    ])
    expect((await history(room, bob))[0].reactions).toEqual([
      { emoji: '👍', count: 2, me: true },
      { emoji: '🇫🇷', count: 1, me: true },
    ])
    for (let i = 0; i < 2; i++) expect((await call(stack.url, 'DELETE', reaction(room, id, '👍'), { token: alice.accessToken })).status).toBe(204)
    for (const socket of [onA, onB]) await socket.collect((f) => f.type === 'event' && f.kind === 'reaction', 4, 5000)
    const events = eventsOf(onB, room, 'reaction')
    expect(events.map((e) => [e.actorId, e.data.emoji, e.data.added])).toEqual([
      [alice.userId, '👍', true],
      [bob.userId, '👍', true],
      [bob.userId, '🇫🇷', true],
      [alice.userId, '👍', false],
    ])
    expect(events.every((e) => e.target === id)).toBe(true)
    expect((await history(room, alice))[0].reactions).toEqual([
      { emoji: '👍', count: 1, me: false },
      { emoji: '🇫🇷', count: 1, me: false },
    ])
    onA.close()
    onB.close()
  })

  test('a history page says the seq it reflects: events up to it are in the page, and a reaction after it is not', async () => {
    const { room, alice, bob, onA, onB } = await roomWithTwo()
    const { id } = await send(onA, room, 'count me once')
    expect((await call(stack.url, 'PUT', reaction(room, id, '👍'), { token: bob.accessToken })).status).toBe(204)
    const [reacted] = await onA.collect((f) => f.type === 'event' && f.kind === 'reaction' && f.target === id, 1, 5000)
    const page = await call(stack.url, 'GET', `/chat/rooms/${room}/messages`, { token: alice.accessToken })
    expect(page.body.lastSeq).toBe(reacted.seq)
    expect(page.body.items.at(-1).reactions).toEqual([{ emoji: '👍', count: 1, me: false }])
    expect((await call(stack.url, 'PUT', reaction(room, id, '🎉'), { token: bob.accessToken })).status).toBe(204)
    const [later] = await onA.collect((f) => f.type === 'event' && f.kind === 'reaction' && f.data.emoji === '🎉', 1, 5000)
    expect(later.seq).toBeGreaterThan(page.body.lastSeq)
    const older = await call(stack.url, 'GET', `/chat/rooms/${room}/messages?after=0`, { token: alice.accessToken })
    expect(older.body.lastSeq).toBe(later.seq)
    onA.close()
    onB.close()
  })

  test('an emoji must be exactly one emoji grapheme (422), and a message carries at most REACTIONS_MAX_PER_MESSAGE distinct emoji (409)', async () => {
    const { room, alice, bob, onA, onB } = await roomWithTwo()
    const { id } = await send(onA, room, 'limits')
    for (const bad of ['👍👍', 'a', 'x👍', '%F0', ':+1:']) {
      const url = bad === '%F0' ? path(room, id, '/reactions/%F0') : reaction(room, id, bad)
      const answer = await call(stack.url, 'PUT', url, { token: alice.accessToken })
      expect({ bad, status: answer.status, error: answer.body.error }).toEqual({ bad, status: 422, error: 'VALIDATION_FAILED' })
    }
    for (const emoji of ['😀', '👨‍👩‍👧', '1️⃣']) expect((await call(stack.url, 'PUT', reaction(room, id, emoji), { token: alice.accessToken })).status).toBe(204)
    expectError(await call(stack.url, 'PUT', reaction(room, id, '🎉'), { token: bob.accessToken }), 409, 'TOO_MANY_REACTIONS')
    // One of the existing emoji is still fine.
    expect((await call(stack.url, 'PUT', reaction(room, id, '😀'), { token: bob.accessToken })).status).toBe(204)
    expectError(await call(stack.url, 'PUT', reaction(crypto.randomUUID(), id, '😀'), { token: bob.accessToken }), 404, 'NOT_FOUND')
    onA.close()
    onB.close()
  })
})

describe('replies', () => {
  test('send{replyTo} stores the reply with replyTo; a message of another room or an unknown id is refused with BAD_REPLY and not stored', async () => {
    const { room, alice, onA, onB } = await roomWithTwo()
    const first = await send(onA, room, 'question')
    const reply = await send(onB, room, 'answer', first.id)
    expect(reply.type).toBe('ack')
    const live = await onA.next((f) => f.type === 'message' && f.id === reply.id)
    expect(live.replyTo).toBe(first.id)

    const elsewhere = await createRoom(stack.url, alice)
    await joinRoom(onA, elsewhere)
    const foreign = await send(onA, elsewhere, 'other room')
    for (const replyTo of [foreign.id, crypto.randomUUID()]) {
      const refused = await send(onA, room, 'bad reply', replyTo)
      expect(refused).toMatchObject({ type: 'error', code: 'BAD_REPLY' })
    }
    const items = await history(room, alice)
    expect(items.map((m) => [m.id, m.replyTo])).toEqual([
      [first.id, undefined],
      [reply.id, first.id],
    ])
    onA.close()
    onB.close()
  })
})

describe('the stream after changes', () => {
  test('join{since} on the other instance replays messages (current state) and every edit, reaction and delete in seq order with no gap', async () => {
    const { room, alice, bob, onA, onB } = await roomWithTwo()
    const one = await send(onA, room, 'one')
    await call(stack.url, 'PATCH', path(room, one.id), { token: alice.accessToken, body: { body: 'one!' } })
    const two = await send(onB, room, 'two')
    await call(stack.url, 'PUT', reaction(room, two.id, '👍'), { token: alice.accessToken })
    await call(stack.url, 'DELETE', path(room, one.id), { token: alice.accessToken })
    // After the `member` event of Bob's join.
    const base = baseSeqOf(room)
    await onB.collect(inRoom(room), 5, 5000)
    expect(onB.frames.filter(inRoom(room)).map((f) => f.seq)).toEqual(range(base + 1, base + 5))

    const [, b] = stack.instancesOf('chat')
    const late = await connect(b.url, bob.accessToken)
    await joinRoom(late, room, base)
    const replayed = await late.collect(inRoom(room), 5, 5000)
    expect(replayed.map((f) => [f.seq - base, f.type === 'event' ? f.kind : 'message'])).toEqual([
      [1, 'message'],
      [2, 'edit'],
      [3, 'message'],
      [4, 'reaction'],
      [5, 'delete'],
    ])
    // Erased everywhere: the replayed message and its edit event no longer carry the text.
    expect(replayed[0]).toMatchObject({ body: '', deleted: true })
    expect(replayed[1].data).toEqual({ body: '' })
    onA.close()
    onB.close()
    late.close()
  })
})

describe('the per-user limit on changes', () => {
  test('past MESSAGE_CHANGES_MAX edits, deletions and reactions in the window, 429 RATE_LIMITED with Retry-After', async () => {
    const { room, alice, onA, onB } = await roomWithTwo()
    const { id } = await send(onA, room, 'spam target')
    for (let i = 0; i < CHANGES_MAX; i++) {
      const answer = await call(stack.url, i % 2 === 0 ? 'PUT' : 'DELETE', reaction(room, id, '👍'), { token: alice.accessToken })
      expect(answer.status).toBe(204)
    }
    const refused = await call(stack.url, 'PATCH', path(room, id), { token: alice.accessToken, body: { body: 'x' } })
    expectError(refused, 429, 'RATE_LIMITED')
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    onA.close()
    onB.close()
  })
})
