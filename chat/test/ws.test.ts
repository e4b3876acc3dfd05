import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestStack, type TestStack } from '../../test/harness'
import { baseSeqOf, createRoom, messagesIn, person, range, twoInRoom } from '../../test/chat-helpers'
import { call, sleep } from '../../test/client'
import { connect, joinRoom, openSocket } from '../../test/ws-client'
import { createClient } from 'redis'
import { expectNever, waitUntil } from '../../test/wait'

/** Unique per run: pub/sub channels are shared by every Redis DB, so they must not collide with another stack's. */
const REDIS_PREFIX = `ws-${process.pid}:`

let stack: TestStack
beforeAll(async () => {
  stack = await startTestStack({ chat: 1, env: { WS_AUTH_TIMEOUT_MS: '500', REDIS_PREFIX } })
})
afterAll(() => stack?.stop())

describe('WebSocket authentication and Origin', () => {
  test('a Bearer header at the upgrade gets ready with the user and session', async () => {
    const alice = await person(stack.url)
    const socket = await openSocket(stack.url, { token: alice.accessToken })
    const ready = await socket.next((f) => f.type === 'ready')
    expect(ready).toEqual({ type: 'ready', userId: alice.userId, sessionId: alice.sessionId })
    socket.close()
  })

  test('an auth frame authenticates a socket opened without a header', async () => {
    const alice = await person(stack.url)
    const socket = await openSocket(stack.url)
    socket.send({ type: 'auth', token: alice.accessToken, ref: 'a1' })
    expect(await socket.next((f) => f.ref === 'a1')).toMatchObject({ type: 'ready', userId: alice.userId })
    socket.close()
  })

  test('without an auth frame in time the socket closes with 4408', async () => {
    const socket = await openSocket(stack.url)
    expect((await socket.closed).code).toBe(4408)
  })

  test('a bad token in the auth frame closes with 4401; a bad Bearer header is refused at the upgrade', async () => {
    const socket = await openSocket(stack.url)
    socket.send({ type: 'auth', token: 'not-a-token' })
    expect((await socket.closed).code).toBe(4401)
    await expect(openSocket(stack.url, { token: 'not-a-token' })).rejects.toThrow()
    const upgrade = await fetch(stack.url + '/chat/ws', { headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', authorization: 'Bearer nope' } })
    expect(upgrade.status).toBe(401)
  })

  test('a browser Origin outside the allow-list is refused with 403; the public origin is allowed', async () => {
    const alice = await person(stack.url)
    await expect(openSocket(stack.url, { token: alice.accessToken, origin: 'https://evil.example' })).rejects.toThrow()
    const upgrade = await fetch(stack.url + '/chat/ws', { headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', origin: 'https://evil.example' } })
    expect(upgrade.status).toBe(403)
    const allowed = await openSocket(stack.url, { token: alice.accessToken, origin: stack.env.PUBLIC_ORIGIN })
    await allowed.next((f) => f.type === 'ready')
    allowed.close()
  })

  test('logging out closes the session’s sockets with 4403 within a second', async () => {
    const alice = await person(stack.url)
    const socket = await connect(stack.url, alice.accessToken)
    const started = performance.now()
    expect((await call(stack.url, 'POST', '/auth/logout', { token: alice.accessToken })).status).toBe(204)
    expect((await socket.closed).code).toBe(4403)
    expect(performance.now() - started).toBeLessThan(1000)
  })

  test('deleting the account closes its sockets with 4403', async () => {
    const alice = await person(stack.url)
    const socket = await connect(stack.url, alice.accessToken)
    expect((await call(stack.url, 'DELETE', '/users/me', { token: alice.accessToken, body: { password: alice.password } })).status).toBe(204)
    expect((await socket.closed).code).toBe(4403)
  })
})

describe('rooms over the socket', () => {
  test('join needs membership: a non-member gets NOT_A_MEMBER', async () => {
    const [alice, mallory] = [await person(stack.url), await person(stack.url)]
    const room = await createRoom(stack.url, alice)
    const socket = await connect(stack.url, mallory.accessToken)
    socket.send({ type: 'join', room, ref: 'j' })
    expect(await socket.next((f) => f.ref === 'j')).toMatchObject({ type: 'error', code: 'NOT_A_MEMBER' })
    socket.send({ type: 'send', room, body: 'hi', clientId: 'x', ref: 's' })
    expect(await socket.next((f) => f.ref === 's')).toMatchObject({ type: 'error', code: 'NOT_A_MEMBER' })
    socket.close()
  })

  test('a sent message is acknowledged with its seq and reaches every joined socket, the sender’s included, once', async () => {
    const { alice, bob, room, a, b } = await twoInRoom(stack.url)
    // Seq 1 is the `member` event of Bob's join.
    expect(await joinRoom(a, room)).toMatchObject({ type: 'joined', room, lastSeq: 1 })
    await joinRoom(b, room)
    a.send({ type: 'send', room, body: 'hello bob', clientId: 'c-1', ref: 'r1' })
    const ack = await a.next((f) => f.type === 'ack')
    expect(ack).toMatchObject({ type: 'ack', ref: 'r1', clientId: 'c-1', room, seq: 2, id: expect.any(String) })
    for (const socket of [a, b]) {
      const message = await socket.next((f) => f.type === 'message')
      expect(message).toEqual({ type: 'message', id: ack.id, room, seq: 2, senderId: alice.userId, body: 'hello bob', clientId: 'c-1', createdAt: expect.any(String) })
    }
    await sleep(100)
    expect(messagesIn(a.frames, room)).toHaveLength(1)
    expect(messagesIn(b.frames, room)).toHaveLength(1)
    a.close()
    b.close()
  })

  test('a re-sent clientId is acknowledged again with the original seq and stored once', async () => {
    const alice = await person(stack.url)
    const room = await createRoom(stack.url, alice)
    const a = await connect(stack.url, alice.accessToken)
    await joinRoom(a, room)
    a.send({ type: 'send', room, body: 'once', clientId: 'same', ref: 1 })
    a.send({ type: 'send', room, body: 'once', clientId: 'same', ref: 2 })
    const first = await a.next((f) => f.ref === 1)
    const second = await a.next((f) => f.ref === 2)
    expect(second.seq).toBe(first.seq)
    expect(second.id).toBe(first.id)
    await sleep(100)
    a.send({ type: 'send', room, body: 'once', clientId: 'same', ref: 3 })
    expect((await a.next((f) => f.ref === 3)).seq).toBe(first.seq)
    const [{ count }] = await stack.sql`select count(*)::int as count from chat.messages where room_id = ${room}`
    expect(count).toBe(1)
    expect(messagesIn(a.frames, room)).toHaveLength(1)
    a.close()
  })

  test('sends on a fresh socket are stored in the order they were sent, before any ack', async () => {
    const alice = await person(stack.url)
    const room = await createRoom(stack.url, alice)
    const socket = await connect(stack.url, alice.accessToken)
    for (let i = 1; i <= 20; i++) socket.send({ type: 'send', room, body: `n${i}`, clientId: `o${i}` })
    const acks = await socket.collect((f) => f.type === 'ack', 20)
    expect(acks.map((a) => a.clientId)).toEqual(Array.from({ length: 20 }, (_, i) => `o${i + 1}`))
    expect(acks.map((a) => a.seq)).toEqual(range(1, 20))
    socket.close()
  })

  test('join with since replays every later message in order, then live ones', async () => {
    const alice = await person(stack.url)
    const room = await createRoom(stack.url, alice)
    const a = await connect(stack.url, alice.accessToken)
    await joinRoom(a, room)
    for (let i = 1; i <= 5; i++) a.send({ type: 'send', room, body: `m${i}`, clientId: `c${i}` })
    await a.collect((f) => f.type === 'ack', 5)

    const late = await connect(stack.url, alice.accessToken)
    expect(await joinRoom(late, room, 2)).toMatchObject({ lastSeq: 5 })
    await late.collect((f) => f.type === 'message', 3)
    a.send({ type: 'send', room, body: 'm6', clientId: 'c6' })
    const all = await late.collect((f) => f.type === 'message', 4)
    expect(all.map((m) => m.seq)).toEqual([3, 4, 5, 6])
    a.close()
    late.close()
  })

  test('replay race: messages sent while a socket joins with since arrive once and in order', async () => {
    const [alice, bob] = [await person(stack.url), await person(stack.url)]
    const room = await createRoom(stack.url, alice, [bob])
    const sender = await connect(stack.url, alice.accessToken)
    const total = 400
    let sent = 0
    // Keep sending while bob joins with since at various points.
    const sending = (async () => {
      while (sent < total) {
        sender.send({ type: 'send', room, body: `n${sent}`, clientId: `k${sent}` })
        sent++
        if (sent % 20 === 0) await sleep(5)
      }
    })()
    await sleep(30)
    const joiners = []
    // A client resumes from a seq it has seen: wait until the third message is acknowledged.
    await sender.collect((f) => f.type === 'ack', 3)
    for (const since of [0, 3]) {
      const socket = await connect(stack.url, bob.accessToken)
      await joinRoom(socket, room, since)
      joiners.push({ socket, since })
      await sleep(15)
    }
    await sending
    await sender.collect((f) => f.type === 'ack', total, 10_000)
    // Messages follow the `member` event of Bob's join.
    const base = baseSeqOf(room)
    for (const { socket, since } of joiners) {
      const from = Math.max(since, base)
      const received = await socket.collect((f) => f.type === 'message', base + total - from, 10_000)
      expect(received.map((m) => m.seq)).toEqual(range(from + 1, base + total))
      await sleep(50)
      expect(messagesIn(socket.frames, room)).toHaveLength(base + total - from)
      socket.close()
    }
    sender.close()
  })

  test('a join sent right behind a leave is answered after it: left, then joined', async () => {
    const alice = await person(stack.url)
    const room = await createRoom(stack.url, alice)
    const socket = await connect(stack.url, alice.accessToken)
    await joinRoom(socket, room)
    socket.send({ type: 'leave', room, ref: 'out' })
    socket.send({ type: 'join', room, ref: 'in' })
    const answers = await socket.collect((f) => f.ref === 'out' || f.ref === 'in', 2)
    expect(answers.map((f) => [f.type, f.ref])).toEqual([
      ['left', 'out'],
      ['joined', 'in'],
    ])
    socket.close()
  })

  test('typing and presence reach the other members; presence is listed over REST', async () => {
    const [alice, bob] = [await person(stack.url), await person(stack.url)]
    const room = await createRoom(stack.url, alice, [bob])
    const a = await connect(stack.url, alice.accessToken)
    await joinRoom(a, room)
    const b = await connect(stack.url, bob.accessToken)
    await joinRoom(b, room)
    expect(await a.next((f) => f.type === 'presence' && f.userId === bob.userId)).toEqual({ type: 'presence', room, userId: bob.userId, online: true })
    const online = await call(stack.url, 'GET', `/chat/rooms/${room}/presence`, { token: alice.accessToken })
    expect(online.body.map((p: { userId: string }) => p.userId).sort()).toEqual([alice.userId, bob.userId].sort())

    b.send({ type: 'typing', room })
    expect(await a.next((f) => f.type === 'typing')).toEqual({ type: 'typing', room, userId: bob.userId })
    b.close()
    expect(await a.next((f) => f.type === 'presence' && f.online === false)).toEqual({ type: 'presence', room, userId: bob.userId, online: false })
    a.close()
  })

  test('leaving the room over REST removes it from the user’s sockets with a left frame', async () => {
    const [alice, bob] = [await person(stack.url), await person(stack.url)]
    const room = await createRoom(stack.url, alice, [bob])
    const b = await connect(stack.url, bob.accessToken)
    await joinRoom(b, room)
    expect((await call(stack.url, 'POST', `/chat/rooms/${room}/leave`, { token: bob.accessToken })).status).toBe(204)
    expect(await b.next((f) => f.type === 'left')).toEqual({ type: 'left', room, reason: 'left' })
    b.send({ type: 'send', room, body: 'still here?', clientId: 'z', ref: 'z' })
    expect(await b.next((f) => f.ref === 'z')).toMatchObject({ type: 'error', code: 'NOT_A_MEMBER' })
    b.close()
  })
})

describe('Redis namespacing', () => {
  test('presence keys and pub/sub channels of the chat all start with REDIS_PREFIX', async () => {
    const alice = await person(stack.url)
    const room = await createRoom(stack.url, alice)
    const socket = await connect(stack.url, alice.accessToken)
    await joinRoom(socket, room)
    const redis = createClient({ url: stack.redisUrl })
    await redis.connect()
    try {
      expect(await redis.exists(`${REDIS_PREFIX}chat:user-sockets:${alice.userId}`)).toBe(1)
      expect(await redis.exists(`${REDIS_PREFIX}chat:presence:${room}`)).toBe(1)
      const channels = await redis.pubSubChannels(`${REDIS_PREFIX}chat:*`)
      expect(channels).toContain(`${REDIS_PREFIX}chat:room:${room}`)
      expect(channels).toContain(`${REDIS_PREFIX}chat:user:${alice.userId}`)
      expect(await redis.pubSubChannels(`chat:*:${room}`)).toEqual([])
      expect(await redis.exists(`chat:user-sockets:${alice.userId}`)).toBe(0)
    } finally {
      await redis.quit()
      socket.close()
    }
  })

  // The room's feed and subscription were kept for good when the only socket closed while its join was on its way.
  test('a socket that closes while its join is on its way does not keep the room subscribed on the instance', async () => {
    const alice = await person(stack.url)
    const room = await createRoom(stack.url, alice)
    const channel = `${REDIS_PREFIX}chat:room:${room}`
    const redis = createClient({ url: stack.redisUrl })
    await redis.connect()
    try {
      const socket = await connect(stack.url, alice.accessToken)
      socket.send({ type: 'join', room, since: 0 })
      socket.close()
      await waitUntil(async () => (await redis.pubSubNumSub(channel))[channel] === 1, 'the join subscribed the room', 5_000)
      // Released FEED_RELEASE_DELAY_MS (5 s) after the last socket went.
      await waitUntil(async () => (await redis.pubSubNumSub(channel))[channel] === 0, 'the room is released', 10_000)
    } finally {
      await redis.quit()
    }
  })
})

describe('bad frames and limits', () => {
  test('not JSON, unknown types and wrong fields get BAD_FRAME and the socket stays open', async () => {
    const alice = await person(stack.url)
    const room = await createRoom(stack.url, alice)
    const socket = await connect(stack.url, alice.accessToken)
    socket.sendRaw('this is not json')
    socket.send({ type: 'dance' })
    socket.send({ type: 'send', room, body: 42, clientId: 'x', ref: 'typed' })
    socket.send({ type: 'join', room: 'nope' })
    const errors = await socket.collect((f) => f.type === 'error', 4)
    expect(errors.every((e) => e.code === 'BAD_FRAME')).toBe(true)
    expect(errors[2].ref).toBe('typed')
    await joinRoom(socket, room)
    socket.send({ type: 'send', room, body: '', clientId: 'empty', ref: 'e' })
    expect(await socket.next((f) => f.ref === 'e')).toMatchObject({ type: 'error', code: 'INVALID_MESSAGE' })
    socket.send({ type: 'send', room, body: 'x'.repeat(4001), clientId: 'long', ref: 'l' })
    expect(await socket.next((f) => f.ref === 'l')).toMatchObject({ type: 'error', code: 'INVALID_MESSAGE' })
    socket.send({ type: 'send', room, body: '😀'.repeat(4000), clientId: 'emoji', ref: 'ok' })
    expect(await socket.next((f) => f.ref === 'ok')).toMatchObject({ type: 'ack' })
    socket.close()
  })

  test('ids and clientIds Postgres could not take are BAD_FRAME, and another user’s send in the same moment is acknowledged', async () => {
    const { room, a, b } = await twoInRoom(stack.url)
    await joinRoom(b, room)
    a.send({ type: 'send', room, body: 'x', clientId: 'nul\u0000', ref: 'nul' })
    a.send({ type: 'send', room: `urn:uuid:${room}`, body: 'x', clientId: 'urn', ref: 'urn' })
    a.send({ type: 'send', room, body: 'x', clientId: 'reply', replyTo: `urn:uuid:${crypto.randomUUID()}`, ref: 'reply' })
    b.send({ type: 'send', room, body: 'beside them', clientId: 'fine', ref: 'fine' })
    for (const ref of ['nul', 'urn', 'reply']) expect(await a.next((f) => f.ref === ref)).toMatchObject({ type: 'error', code: 'BAD_FRAME' })
    expect(await b.next((f) => f.ref === 'fine')).toMatchObject({ type: 'ack', seq: baseSeqOf(room) + 1 })
    a.close()
    b.close()
  })

  test('a room id in capitals is the same room: a join with since replays to that socket only, and every socket gets each message once', async () => {
    const { room, a, b } = await twoInRoom(stack.url)
    await joinRoom(a, room)
    for (const i of range(1, 3)) a.send({ type: 'send', room, body: `m${i}`, clientId: `m${i}`, ref: `m${i}` })
    await a.collect((f) => f.type === 'message', 3)
    const joined = await joinRoom(b, room.toUpperCase(), baseSeqOf(room))
    expect(joined).toMatchObject({ room, lastSeq: baseSeqOf(room) + 3 })
    expect((await b.collect((f) => f.type === 'message', 3)).map((f) => f.room)).toEqual([room, room, room])
    b.send({ type: 'send', room: room.toUpperCase(), body: 'from bob', clientId: 'bob', ref: 'bob' })
    expect(await b.next((f) => f.ref === 'bob')).toMatchObject({ type: 'ack', room, seq: baseSeqOf(room) + 4 })
    // Alice got that one message too, and none of the replay again.
    const seqs = (await a.collect((f) => f.type === 'message', 4)).map((f) => f.seq)
    expect(seqs).toEqual(range(baseSeqOf(room) + 1, baseSeqOf(room) + 4))
    await expectNever(() => a.frames.filter((f) => f.type === 'message').length > 4, { message: 'a replayed message arriving again', forMs: 300 })
    a.close()
    b.close()
  })

  test('joins and leaves past their bucket get RATE_LIMITED; the socket stays open and can still send', async () => {
    const alice = await person(stack.url)
    const room = await createRoom(stack.url, alice)
    const socket = await connect(stack.url, alice.accessToken)
    // Leaves of a room not joined: each is answered, NOT_JOINED while the bucket (200) lasts.
    for (const i of range(1, 260)) socket.send({ type: 'leave', room, ref: `l${i}` })
    const answers = await socket.collect((f) => typeof f.ref === 'string' && f.ref.startsWith('l'), 260)
    const limited = answers.filter((f) => f.code === 'RATE_LIMITED').length
    expect(answers.filter((f) => f.code === 'NOT_JOINED').length).toBeGreaterThanOrEqual(200)
    expect(limited).toBeGreaterThanOrEqual(40)
    expect(limited + answers.filter((f) => f.code === 'NOT_JOINED').length).toBe(260)
    socket.send({ type: 'send', room, body: 'still here', clientId: 'after-leaves', ref: 'after' })
    expect(await socket.next((f) => f.ref === 'after')).toMatchObject({ type: 'ack' })
    socket.close()
  })

  test('a body with a lone surrogate gets INVALID_MESSAGE and is not stored, as REST refuses such text with 422', async () => {
    const alice = await person(stack.url)
    const room = await createRoom(stack.url, alice)
    const socket = await connect(stack.url, alice.accessToken)
    // JSON.stringify writes a lone surrogate as the escape \ud83d, which parses back to one.
    socket.send({ type: 'send', room, body: 'broken \uD83D half', clientId: 'lone', ref: 'lone' })
    expect(await socket.next((f) => f.ref === 'lone')).toMatchObject({ type: 'error', code: 'INVALID_MESSAGE' })
    socket.send({ type: 'send', room, body: 'paired \uD83D\uDE00', clientId: 'pair', ref: 'pair' })
    expect(await socket.next((f) => f.ref === 'pair')).toMatchObject({ type: 'ack', seq: 1 })
    const [{ count }] = await stack.sql`select count(*)::int as count from chat.messages where room_id = ${room}`
    expect(count).toBe(1)
    const rest = await call(stack.url, 'POST', '/chat/rooms', { token: alice.accessToken, body: { name: 'broken \uD83D half' } })
    expect(rest.status).toBe(422)
    socket.close()
  })

  test('a deeply nested frame, unknown fields and an oversized ref get BAD_FRAME at once, store nothing and echo nothing big', async () => {
    const alice = await person(stack.url)
    const room = await createRoom(stack.url, alice)
    const socket = await connect(stack.url, alice.accessToken)
    await joinRoom(socket, room)
    // 800 KB of nesting: parsed by Elysia, it held the instance for hundreds of milliseconds.
    socket.sendRaw('{"type":"send","x":' + '['.repeat(400_000) + ']'.repeat(400_000) + '}')
    socket.send({ type: 'send', room, body: 'extra', clientId: 'extra', padding: 'x' })
    socket.send({ type: 'dance', ref: 'r'.repeat(100_000) })
    const errors = await socket.collect((f) => f.type === 'error', 3)
    expect(errors.map((e) => e.code)).toEqual(['BAD_FRAME', 'BAD_FRAME', 'BAD_FRAME'])
    expect(errors[0].message).toContain('nested')
    expect(errors.every((e) => e.ref === undefined)).toBe(true)
    const [{ count }] = await stack.sql`select count(*)::int as count from chat.messages where room_id = ${room}`
    expect(count).toBe(0)
    socket.close()
  })

  test('ten bad frames within a minute close with 4400; other sockets are unaffected', async () => {
    const alice = await person(stack.url)
    const bystander = await connect(stack.url, alice.accessToken)
    const socket = await connect(stack.url, alice.accessToken)
    for (let i = 0; i < 10; i++) socket.sendRaw('{broken')
    expect((await socket.closed).code).toBe(4400)
    const room = await createRoom(stack.url, alice)
    await joinRoom(bystander, room)
    bystander.close()
  })

  test('a frame over 1 MiB closes with 1009', async () => {
    const alice = await person(stack.url)
    const socket = await connect(stack.url, alice.accessToken)
    socket.sendRaw(JSON.stringify({ type: 'send', room: crypto.randomUUID(), body: 'x'.repeat(1_100_000), clientId: 'big' }))
    expect((await socket.closed).code).toBe(1009)
  })

  test('a flood gets RATE_LIMITED first, then 4429', async () => {
    const alice = await person(stack.url)
    const room = await createRoom(stack.url, alice)
    const socket = await connect(stack.url, alice.accessToken)
    await joinRoom(socket, room)
    for (let i = 0; i < 1000; i++) socket.send({ type: 'send', room, body: 'flood', clientId: `f${i}` })
    expect(await socket.next((f) => f.type === 'error' && f.code === 'RATE_LIMITED')).toBeDefined()
    expect((await socket.closed).code).toBe(4429)
    // What was acknowledged is stored.
    const acked = socket.frames.filter((f) => f.type === 'ack').length
    const [{ count }] = await stack.sql`select count(*)::int as count from chat.messages where room_id = ${room}`
    expect(count).toBeGreaterThanOrEqual(acked)
  })
})
