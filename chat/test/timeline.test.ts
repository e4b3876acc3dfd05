import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestStack, type TestStack } from '../../test/harness'
import { createRoom, person, range, baseSeqOf } from '../../test/chat-helpers'
import { call, expectError } from '../../test/client'
import { connect, joinRoom, type Frame } from '../../test/ws-client'
import { appendEvents } from '../src/timeline/service'

let stack: TestStack
beforeAll(async () => {
  stack = await startTestStack({ chat: 2 })
})
afterAll(() => stack?.stop())

const inRoom = (room: string) => (f: Frame) => (f.type === 'message' || f.type === 'event') && f.room === room
const seqsOf = (frames: Frame[], room: string) => frames.filter(inRoom(room)).map((f) => f.seq as number)

/** Stores a room event the way a service does, in its own transaction, without publishing it. */
async function appendDirectly(room: string, actorId: string, count = 1) {
  return stack.sql.begin((tx) =>
    appendEvents(
      tx,
      room,
      Array.from({ length: count }, () => ({ kind: 'room' as const, actorId, data: { topic: 'set outside the chat processes' } })),
    ),
  )
}

describe('the room timeline: messages and events share one seq stream', () => {
  test('appendEvents takes the room’s next seqs after its messages, and GET /events answers both in seq order', async () => {
    const alice = await person(stack.url)
    const room = await createRoom(stack.url, alice)
    const socket = await connect(stack.url, alice.accessToken)
    await joinRoom(socket, room)
    socket.send({ type: 'send', room, body: 'first', clientId: 'c1' })
    await socket.next((f) => f.type === 'ack' && f.clientId === 'c1')
    const events = await appendDirectly(room, alice.userId, 2)
    expect(events.map((e) => [e.seq, e.kind])).toEqual([
      [2, 'room'],
      [3, 'room'],
    ])
    socket.send({ type: 'send', room, body: 'second', clientId: 'c2' })
    expect((await socket.next((f) => f.type === 'ack' && f.clientId === 'c2')).seq).toBe(4)

    const all = await call(stack.url, 'GET', `/chat/rooms/${room}/events`, { token: alice.accessToken })
    expect(all.status).toBe(200)
    expect(all.body.items.map((i: Frame) => [i.seq, i.kind])).toEqual([
      [1, 'message'],
      [2, 'room'],
      [3, 'room'],
      [4, 'message'],
    ])
    expect(all.body.items[1]).toMatchObject({ room, actorId: alice.userId, data: { topic: 'set outside the chat processes' } })
    expect(all.body.nextCursor).toBeNull()
    const paged = await call(stack.url, 'GET', `/chat/rooms/${room}/events?after=1&limit=2`, { token: alice.accessToken })
    expect({ seqs: paged.body.items.map((i: Frame) => i.seq), next: paged.body.nextCursor }).toEqual({ seqs: [2, 3], next: 3 })
    socket.close()
  })

  test('an event stored without any publish still reaches live sockets on both instances, in order (reconcile reads both tables)', async () => {
    const [a, b] = stack.instancesOf('chat')
    const [alice, bob] = [await person(stack.url), await person(stack.url)]
    const room = await createRoom(stack.url, alice, [bob])
    const onA = await connect(a.url, alice.accessToken)
    const onB = await connect(b.url, bob.accessToken)
    for (const socket of [onA, onB]) await joinRoom(socket, room)
    onA.send({ type: 'send', room, body: 'hello', clientId: 'h1' })
    await onA.next((f) => f.type === 'ack')
    await appendDirectly(room, alice.userId)
    for (const socket of [onA, onB]) {
      await socket.collect(inRoom(room), 2, 10_000)
      // After the `member` event of Bob's join.
      const base = baseSeqOf(room)
      expect(seqsOf(socket.frames, room)).toEqual([base + 1, base + 2])
      expect(socket.frames.find((f) => f.type === 'event' && f.kind === 'room')).toMatchObject({ type: 'event', room, seq: base + 2, kind: 'room', actorId: alice.userId })
    }
    onA.close()
    onB.close()
  })

  test('join{since} replays messages and events after since in seq order with no gap, then continues live', async () => {
    const [a, b] = stack.instancesOf('chat')
    const alice = await person(stack.url)
    const room = await createRoom(stack.url, alice)
    const writer = await connect(a.url, alice.accessToken)
    await joinRoom(writer, room)
    for (let i = 1; i <= 6; i++) {
      if (i % 2 === 0) await appendDirectly(room, alice.userId)
      else {
        writer.send({ type: 'send', room, body: `m${i}`, clientId: `m${i}` })
        await writer.next((f) => f.type === 'ack' && f.clientId === `m${i}`)
      }
    }
    const reader = await connect(b.url, alice.accessToken)
    await joinRoom(reader, room, 2)
    await reader.collect(inRoom(room), 4, 10_000)
    expect(seqsOf(reader.frames, room)).toEqual(range(3, 6))
    expect(reader.frames.filter(inRoom(room)).map((f) => f.type)).toEqual(['message', 'event', 'message', 'event'])
    await appendDirectly(room, alice.userId)
    await reader.collect(inRoom(room), 5, 10_000)
    expect(seqsOf(reader.frames, room)).toEqual(range(3, 7))
    writer.close()
    reader.close()
  })

  test('GET /events is for members only: 403 for a public room, 404 for a private one or an unknown id', async () => {
    const [alice, mallory] = [await person(stack.url), await person(stack.url)]
    const room = await createRoom(stack.url, alice)
    expectError(await call(stack.url, 'GET', `/chat/rooms/${room}/events`, { token: mallory.accessToken }), 403, 'FORBIDDEN')
    const secret = await call(stack.url, 'POST', '/chat/rooms', { token: alice.accessToken, body: { name: 'secret', private: true } })
    expectError(await call(stack.url, 'GET', `/chat/rooms/${secret.body.id}/events`, { token: mallory.accessToken }), 404, 'NOT_FOUND')
    expectError(await call(stack.url, 'GET', `/chat/rooms/${crypto.randomUUID()}/events`, { token: mallory.accessToken }), 404, 'NOT_FOUND')
    expectError(await call(stack.url, 'GET', `/chat/rooms/${room}/events?after=-1`, { token: alice.accessToken }), 422, 'VALIDATION_FAILED')
  })

  test('the creator of a room is stored with the owner role', async () => {
    const alice = await person(stack.url)
    const room = await createRoom(stack.url, alice)
    const [row] = await stack.sql`select role from chat.members where room_id = ${room} and user_id = ${alice.userId}`
    expect(row.role).toBe('owner')
  })
})
