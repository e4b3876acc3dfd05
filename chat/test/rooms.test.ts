import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestStack, type TestStack } from '../../test/harness'
import { range } from '../../test/chat-helpers'
import { call, expectError, login, register, uniqueName, type Account } from '../../test/client'
import { connect, joinRoom } from '../../test/ws-client'
import { INTERNAL_TOKEN_HEADER } from '@chat/common/internal'
import { createUserDirectory } from '../src/users-client'

/** Small, so the cap is reached with a few stored messages. */
const UNREAD_COUNT_MAX = 10

let stack: TestStack
beforeAll(async () => {
  stack = await startTestStack({ chat: 1, env: { UNREAD_COUNT_MAX: String(UNREAD_COUNT_MAX) } })
})
afterAll(() => stack?.stop())

type User = Account & { token: string }

async function newUser(): Promise<User> {
  const account = await register(stack.url)
  return { ...account, token: (await login(stack.url, account)).accessToken }
}

const api = (user: User, method: string, path: string, body?: unknown) => call(stack.url, method, path, { token: user.token, body })

async function createRoom(owner: User, options: { name?: string; private?: boolean } = {}) {
  const answer = await api(owner, 'POST', '/chat/rooms', { name: options.name ?? uniqueName('room'), private: options.private })
  expect(answer.status).toBe(201)
  return answer.body as { id: string; name: string; private: boolean; topic: string; ownerId: string | null; createdAt: string; lastSeq: number }
}

/** Sending is the WebSocket's job; these tests store messages the way it does: next seqs and `last_seq` in one transaction. */
async function storeMessages(roomId: string, senders: User[]) {
  await stack.sql.begin(async (tx) => {
    const [room] = await tx`select last_seq from chat.rooms where id = ${roomId} for update`
    let seq = Number(room.last_seq)
    for (const sender of senders) {
      seq += 1
      await tx`
        insert into chat.messages (room_id, seq, id, sender_id, body, client_id)
        values (${roomId}, ${seq}, ${crypto.randomUUID()}, ${sender.id}, ${`message ${seq}`}, ${crypto.randomUUID()})`
    }
    await tx`update chat.rooms set last_seq = ${seq} where id = ${roomId}`
  })
}

async function unreadOf(user: User, roomId: string): Promise<number> {
  const answer = await api(user, 'GET', '/chat/rooms?mine=true&limit=100')
  expect(answer.status).toBe(200)
  return answer.body.items.find((room: { id: string }) => room.id === roomId).unread
}

const seqsOf = (answer: { body: Record<string, any> }) => answer.body.items.map((message: { seq: number }) => message.seq)

describe('rooms and membership', () => {
  test('creating a room makes the caller its owner and only member', async () => {
    const owner = await newUser()
    const name = uniqueName('Créé 🎉')
    const room = await createRoom(owner, { name })
    expect(room).toEqual({ id: expect.any(String), name, topic: '', private: false, ownerId: owner.id, createdAt: expect.any(String), lastSeq: 0 })

    const got = await api(owner, 'GET', `/chat/rooms/${room.id}`)
    expect(got.status).toBe(200)
    expect(got.body).toEqual({ ...room, members: 1 })
    const mine = await api(owner, 'GET', '/chat/rooms?mine=true')
    expect(mine.body).toEqual({ items: [{ ...room, unread: 0 }], nextCursor: null })
    const listed = await api(owner, 'GET', `/chat/rooms?q=${encodeURIComponent(name)}`)
    expect(listed.body).toEqual({ items: [room], nextCursor: null })
  })

  // Clients show a private room named `<id>:<id>` as a conversation with that user: another room named so would pass for one.
  test('a room cannot be created or renamed to the form of a direct-message room’s name; other names with a colon are fine', async () => {
    const [owner, boss] = [await newUser(), await newUser()]
    const directForm = `${boss.id}:${owner.id}`
    for (const name of [directForm, ` ${directForm.toUpperCase()} `]) {
      const created = await api(owner, 'POST', '/chat/rooms', { name, private: true })
      expectError(created, 422, 'VALIDATION_FAILED')
      expect(created.body.details[0].field).toBe('name')
    }
    const room = await createRoom(owner, { name: 'Plans: Q3', private: true })
    expectError(await api(owner, 'PATCH', `/chat/rooms/${room.id}`, { name: directForm }), 422, 'VALIDATION_FAILED')
    expect((await api(owner, 'GET', `/chat/rooms/${room.id}`)).body.name).toBe('Plans: Q3')
  })

  test('anyone can join and leave a public room, and both are idempotent', async () => {
    const [owner, guest] = await Promise.all([newUser(), newUser()])
    const room = await createRoom(owner)
    for (let i = 0; i < 2; i++) expect((await api(guest, 'POST', `/chat/rooms/${room.id}/join`)).status).toBe(204)
    expect((await api(guest, 'GET', `/chat/rooms/${room.id}`)).body.members).toBe(2)
    expect((await api(guest, 'GET', '/chat/rooms?mine=true')).body.items.map((r: { id: string }) => r.id)).toEqual([room.id])

    for (let i = 0; i < 2; i++) expect((await api(guest, 'POST', `/chat/rooms/${room.id}/leave`)).status).toBe(204)
    expect((await api(guest, 'GET', `/chat/rooms/${room.id}`)).body.members).toBe(1)
    expect((await api(guest, 'GET', '/chat/rooms?mine=true')).body.items).toEqual([])
  })

  test('the owner cannot leave while others remain; once the room is handed over they can, and the last one out leaves it ownerless', async () => {
    const [owner, first] = await Promise.all([newUser(), newUser()])
    const room = await createRoom(owner)
    await api(first, 'POST', `/chat/rooms/${room.id}/join`)

    expectError(await api(owner, 'POST', `/chat/rooms/${room.id}/leave`), 409, 'LAST_OWNER')
    expect((await api(owner, 'PATCH', `/chat/rooms/${room.id}/members/${first.id}`, { role: 'owner' })).status).toBe(200)
    expect((await api(owner, 'POST', `/chat/rooms/${room.id}/leave`)).status).toBe(204)
    expect((await api(first, 'GET', `/chat/rooms/${room.id}`)).body).toMatchObject({ ownerId: first.id, members: 1 })
    expect((await api(first, 'POST', `/chat/rooms/${room.id}/leave`)).status).toBe(204)
    expect((await api(first, 'GET', `/chat/rooms/${room.id}`)).body).toMatchObject({ ownerId: null, members: 0 })
  })

  test('a private room is invisible to non-members until its owner adds them', async () => {
    const [owner, outsider] = await Promise.all([newUser(), newUser()])
    const room = await createRoom(owner, { private: true })
    expect(room.private).toBe(true)

    const path = `/chat/rooms/${room.id}`
    expectError(await api(outsider, 'GET', path), 404, 'NOT_FOUND')
    expectError(await api(outsider, 'POST', `${path}/join`), 404, 'NOT_FOUND')
    expectError(await api(outsider, 'POST', `${path}/leave`), 404, 'NOT_FOUND')
    expectError(await api(outsider, 'GET', `${path}/messages`), 404, 'NOT_FOUND')
    expectError(await api(outsider, 'GET', `${path}/presence`), 404, 'NOT_FOUND')
    expectError(await api(outsider, 'POST', `${path}/read`, { seq: 0 }), 404, 'NOT_FOUND')
    expectError(await api(outsider, 'POST', `${path}/members`, { userId: outsider.id }), 404, 'NOT_FOUND')
    expect((await api(outsider, 'GET', `/chat/rooms?q=${encodeURIComponent(room.name)}`)).body.items).toEqual([])

    expect((await api(owner, 'POST', `${path}/members`, { userId: outsider.id })).status).toBe(204)
    expect((await api(outsider, 'GET', path)).body).toMatchObject({ id: room.id, members: 2 })
    expect((await api(outsider, 'GET', `${path}/messages`)).body).toEqual({ items: [], nextCursor: null, lastSeq: 1 })
    // Joining a private room one is already in is a no-op, like for public rooms.
    expect((await api(outsider, 'POST', `${path}/join`)).status).toBe(204)
    expect((await api(outsider, 'GET', '/chat/rooms?mine=true')).body.items.map((r: { id: string }) => r.id)).toEqual([room.id])

    await api(outsider, 'POST', `${path}/leave`)
    expectError(await api(outsider, 'GET', path), 404, 'NOT_FOUND')
  })

  test('only the owner (or an admin) adds members; adding is idempotent and checks the user exists', async () => {
    const [owner, member, candidate, stranger] = await Promise.all([newUser(), newUser(), newUser(), newUser()])
    const room = await createRoom(owner, { private: true })
    const members = `/chat/rooms/${room.id}/members`
    expect((await api(owner, 'POST', members, { userId: member.id })).status).toBe(204)
    expect((await api(owner, 'POST', members, { userId: member.id })).status).toBe(204)
    expect((await api(owner, 'GET', `/chat/rooms/${room.id}`)).body.members).toBe(2)

    expectError(await api(member, 'POST', members, { userId: candidate.id }), 403, 'NOT_ALLOWED')
    expectError(await api(owner, 'POST', members, { userId: crypto.randomUUID() }), 404, 'NOT_FOUND')
    expect((await api(owner, 'GET', `/chat/rooms/${room.id}`)).body.members).toBe(2)

    const open = await createRoom(owner)
    expectError(await api(stranger, 'POST', `/chat/rooms/${open.id}/members`, { userId: candidate.id }), 403, 'FORBIDDEN')
    expect((await api(owner, 'POST', `/chat/rooms/${open.id}/members`, { userId: candidate.id })).status).toBe(204)
    expect((await api(candidate, 'GET', '/chat/rooms?mine=true')).body.items.map((r: { id: string }) => r.id)).toEqual([open.id])
  })

  test('non-members of a public room may see it but not its history, presence or read marker', async () => {
    const [owner, outsider] = await Promise.all([newUser(), newUser()])
    const room = await createRoom(owner)
    const path = `/chat/rooms/${room.id}`
    expect((await api(outsider, 'GET', path)).status).toBe(200)
    expectError(await api(outsider, 'GET', `${path}/messages`), 403, 'FORBIDDEN')
    expectError(await api(outsider, 'GET', `${path}/presence`), 403, 'FORBIDDEN')
    expectError(await api(outsider, 'POST', `${path}/read`, { seq: 1 }), 403, 'FORBIDDEN')
  })

  test('presence lists members with a socket in the room, and drops them when they leave', async () => {
    const [owner, guest] = await Promise.all([newUser(), newUser()])
    const room = await createRoom(owner)
    await api(guest, 'POST', `/chat/rooms/${room.id}/join`)
    expect((await api(owner, 'GET', `/chat/rooms/${room.id}/presence`)).body).toEqual([])

    const socket = await connect(stack.url, guest.token)
    try {
      await joinRoom(socket, room.id)
      expect((await api(owner, 'GET', `/chat/rooms/${room.id}/presence`)).body).toEqual([{ userId: guest.id, online: true }])
      await api(guest, 'POST', `/chat/rooms/${room.id}/leave`)
      expect((await api(owner, 'GET', `/chat/rooms/${room.id}/presence`)).body).toEqual([])
    } finally {
      socket.close()
    }
  })
})

describe('room listings', () => {
  test('public rooms page by name, case-insensitively, with a cursor, and skip private rooms', async () => {
    const owner = await newUser()
    const prefix = uniqueName('page')
    for (const suffix of ['e', 'B', 'a', 'D', 'c']) await createRoom(owner, { name: `${prefix}-${suffix}` })
    await createRoom(owner, { name: `${prefix}-0-private`, private: true })

    const names: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const query: string = `/chat/rooms?q=${prefix.toUpperCase()}&limit=2${cursor === null ? '' : `&cursor=${cursor}`}`
      const answer = await api(owner, 'GET', query)
      expect(answer.status).toBe(200)
      expect(answer.body.items.length).toBeLessThanOrEqual(2)
      names.push(...answer.body.items.map((r: { name: string }) => r.name))
      cursor = answer.body.nextCursor
      pages += 1
    } while (cursor !== null)
    expect(names).toEqual(['a', 'B', 'c', 'D', 'e'].map((suffix) => `${prefix}-${suffix}`))
    expect(pages).toBe(3)
  })

  test('the caller’s rooms include private rooms and DMs, filtered by name and paged the same way', async () => {
    const [owner, peer] = await Promise.all([newUser(), newUser()])
    const prefix = uniqueName('mine')
    const rooms = [await createRoom(owner, { name: `${prefix}-2`, private: true }), await createRoom(owner, { name: `${prefix}-1` })]
    const dm = (await api(owner, 'POST', '/chat/dms', { userId: peer.id })).body

    const first = await api(owner, 'GET', '/chat/rooms?mine=true&limit=2')
    expect(first.body.items).toHaveLength(2)
    const second = await api(owner, 'GET', `/chat/rooms?mine=true&limit=2&cursor=${first.body.nextCursor}`)
    expect(second.body.nextCursor).toBeNull()
    const ids = [...first.body.items, ...second.body.items].map((r: { id: string }) => r.id)
    expect(ids.sort()).toEqual([rooms[0].id, rooms[1].id, dm.id].sort())

    const filtered = await api(owner, 'GET', `/chat/rooms?mine=true&q=${prefix}`)
    expect(filtered.body.items.map((r: { name: string }) => r.name)).toEqual([`${prefix}-1`, `${prefix}-2`])
  })
})

describe('direct messages', () => {
  test('a pair has exactly one private, ownerless two-member room, whoever asks and however often', async () => {
    const [alice, bob, carol] = await Promise.all([newUser(), newUser(), newUser()])
    const first = await api(alice, 'POST', '/chat/dms', { userId: bob.id })
    expect(first.status).toBe(200)
    expect(first.body).toMatchObject({ private: true, ownerId: null, lastSeq: 0 })
    expect(first.body.name.split(':').sort()).toEqual([alice.id, bob.id].sort())

    expect((await api(alice, 'POST', '/chat/dms', { userId: bob.id })).body.id).toBe(first.body.id)
    expect((await api(bob, 'POST', '/chat/dms', { userId: alice.id })).body.id).toBe(first.body.id)
    expect((await api(bob, 'POST', '/chat/dms', { userId: alice.id.toUpperCase() })).body.id).toBe(first.body.id)
    expect((await api(bob, 'GET', `/chat/rooms/${first.body.id}`)).body.members).toBe(2)

    expectError(await api(carol, 'GET', `/chat/rooms/${first.body.id}`), 404, 'NOT_FOUND')
    // Nobody owns a DM, so nobody can turn it into a group.
    expectError(await api(alice, 'POST', `/chat/rooms/${first.body.id}/members`, { userId: carol.id }), 403, 'NOT_ALLOWED')
  })

  test('concurrent first calls from both sides converge on one room', async () => {
    const [alice, bob] = await Promise.all([newUser(), newUser()])
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? api(alice, 'POST', '/chat/dms', { userId: bob.id }) : api(bob, 'POST', '/chat/dms', { userId: alice.id }))),
    )
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200))
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1)
    const [{ rooms }] = await stack.sql`select count(*)::int as rooms from chat.rooms where dm_key = ${[alice.id, bob.id].sort().join(':')}`
    expect(rooms).toBe(1)
    const [{ members }] = await stack.sql`select count(*)::int as members from chat.members where room_id = ${answers[0].body.id}`
    expect(members).toBe(2)
  })

  test('a DM left by one side is reopened for both by the next call', async () => {
    const [alice, bob] = await Promise.all([newUser(), newUser()])
    const dm = (await api(alice, 'POST', '/chat/dms', { userId: bob.id })).body
    await api(bob, 'POST', `/chat/rooms/${dm.id}/leave`)
    expectError(await api(bob, 'GET', `/chat/rooms/${dm.id}`), 404, 'NOT_FOUND')
    expect((await api(alice, 'POST', '/chat/dms', { userId: bob.id })).body.id).toBe(dm.id)
    expect((await api(bob, 'GET', `/chat/rooms/${dm.id}`)).body.members).toBe(2)
  })

  test('a DM with oneself or with an unknown user is refused', async () => {
    const alice = await newUser()
    const self = await api(alice, 'POST', '/chat/dms', { userId: alice.id })
    expectError(self, 422, 'VALIDATION_FAILED')
    expect(self.body.details[0].field).toBe('userId')
    expectError(await api(alice, 'POST', '/chat/dms', { userId: crypto.randomUUID() }), 404, 'NOT_FOUND')
  })
})

describe('unread counts and read markers', () => {
  test('unread counts others’ messages after the read marker; the marker never moves back and is clamped', async () => {
    const [alice, bob] = await Promise.all([newUser(), newUser()])
    const room = await createRoom(alice)
    await api(bob, 'POST', `/chat/rooms/${room.id}/join`)
    // Seq 1 is the `member` event of Bob's join; the messages are seqs 2–6.
    await storeMessages(room.id, [alice, alice, bob, alice, bob])
    expect(await unreadOf(alice, room.id)).toBe(2)
    expect(await unreadOf(bob, room.id)).toBe(3)
    expect((await api(bob, 'GET', `/chat/rooms/${room.id}`)).body.lastSeq).toBe(6)

    const read = (seq: number) => api(bob, 'POST', `/chat/rooms/${room.id}/read`, { seq })
    expect((await read(3)).status).toBe(204)
    expect(await unreadOf(bob, room.id)).toBe(1)
    expect((await read(1)).status).toBe(204)
    expect(await unreadOf(bob, room.id)).toBe(1)
    expect((await read(Number.MAX_SAFE_INTEGER)).status).toBe(204)
    expect(await unreadOf(bob, room.id)).toBe(0)
    // The marker was clamped to 6, so a new message is unread again.
    await storeMessages(room.id, [alice])
    expect(await unreadOf(bob, room.id)).toBe(1)
    expect(await unreadOf(alice, room.id)).toBe(2)
  })

  test('unread looks at most UNREAD_COUNT_MAX messages past the marker: a backlog beyond that reads as a lower bound', async () => {
    const [alice, bob] = await Promise.all([newUser(), newUser()])
    const room = await createRoom(alice)
    await api(bob, 'POST', `/chat/rooms/${room.id}/join`)
    // Seq 1 is Bob's join; Alice's messages are seqs 2–26.
    await storeMessages(room.id, Array(25).fill(alice))
    expect(await unreadOf(bob, room.id)).toBe(UNREAD_COUNT_MAX)

    expect((await api(bob, 'POST', `/chat/rooms/${room.id}/read`, { seq: 20 })).status).toBe(204)
    expect(await unreadOf(bob, room.id)).toBe(6)
    // Seqs 27–36 are Bob's own, 37–41 Alice's: the ten messages past the marker (21–30)
    // hold six of Alice's, so 6, though eleven of hers are unread.
    await storeMessages(room.id, [...Array(10).fill(bob), ...Array(5).fill(alice)])
    expect(await unreadOf(bob, room.id)).toBe(6)
  })

  test('messages from before one joined are not unread', async () => {
    const [alice, bob, carol] = await Promise.all([newUser(), newUser(), newUser()])
    const room = await createRoom(alice)
    await storeMessages(room.id, [alice, alice, alice])
    await api(bob, 'POST', `/chat/rooms/${room.id}/join`)
    expect(await unreadOf(bob, room.id)).toBe(0)

    const secret = await createRoom(alice, { private: true })
    await storeMessages(secret.id, [alice])
    await api(alice, 'POST', `/chat/rooms/${secret.id}/members`, { userId: carol.id })
    expect(await unreadOf(carol, secret.id)).toBe(0)
    await storeMessages(secret.id, [alice])
    expect(await unreadOf(carol, secret.id)).toBe(1)
  })
})

describe('message history', () => {
  const TOTAL = 120
  let reader: User
  let history: string
  beforeAll(async () => {
    reader = await newUser()
    const room = await createRoom(reader)
    await storeMessages(room.id, Array(TOTAL).fill(reader))
    history = `/chat/rooms/${room.id}/messages`
  })

  test('without a cursor: the newest page, ascending, pointing at the older page', async () => {
    const page = await api(reader, 'GET', history)
    expect(page.status).toBe(200)
    expect(seqsOf(page)).toEqual(range(71, 120))
    expect(page.body.nextCursor).toBe(71)
    expect(page.body.items[0]).toEqual({
      id: expect.any(String),
      room: expect.any(String),
      seq: 71,
      senderId: reader.id,
      body: 'message 71',
      clientId: expect.any(String),
      createdAt: expect.any(String),
      reactions: [],
    })
  })

  test('before pages backwards until the first message, then nextCursor is null', async () => {
    const second = await api(reader, 'GET', `${history}?before=71`)
    expect(seqsOf(second)).toEqual(range(21, 70))
    expect(second.body.nextCursor).toBe(21)
    const last = await api(reader, 'GET', `${history}?before=21`)
    expect(seqsOf(last)).toEqual(range(1, 20))
    expect(last.body.nextCursor).toBeNull()
    const exact = await api(reader, 'GET', `${history}?before=11&limit=10`)
    expect(seqsOf(exact)).toEqual(range(1, 10))
    expect(exact.body.nextCursor).toBeNull()
    expect((await api(reader, 'GET', `${history}?before=1`)).body).toEqual({ items: [], nextCursor: null, lastSeq: 120 })
    expect(seqsOf(await api(reader, 'GET', `${history}?before=${Number.MAX_SAFE_INTEGER}&limit=1`))).toEqual([120])
  })

  test('after pages forwards until caught up, then nextCursor is null', async () => {
    const first = await api(reader, 'GET', `${history}?after=0&limit=50`)
    expect(seqsOf(first)).toEqual(range(1, 50))
    expect(first.body.nextCursor).toBe(50)
    const middle = await api(reader, 'GET', `${history}?after=50`)
    expect(seqsOf(middle)).toEqual(range(51, 100))
    expect(middle.body.nextCursor).toBe(100)
    const last = await api(reader, 'GET', `${history}?after=100`)
    expect(seqsOf(last)).toEqual(range(101, 120))
    expect(last.body.nextCursor).toBeNull()
    expect((await api(reader, 'GET', `${history}?after=120`)).body).toEqual({ items: [], nextCursor: null, lastSeq: 120 })
    expect((await api(reader, 'GET', `${history}?after=${Number.MAX_SAFE_INTEGER}`)).body).toEqual({ items: [], nextCursor: null, lastSeq: 120 })
  })

  test('limit is clamped above 100 and refused below 1, and before and after cannot be combined', async () => {
    const clamped = await api(reader, 'GET', `${history}?limit=500`)
    expect(seqsOf(clamped)).toEqual(range(21, 120))
    expect(clamped.body.nextCursor).toBe(21)
    expect(seqsOf(await api(reader, 'GET', `${history}?limit=3`))).toEqual([118, 119, 120])
    for (const query of ['limit=0', 'limit=-1', 'limit=1.5', 'limit=Infinity', 'limit=x', 'before=0', 'before=x', 'before=1.5', 'after=-1', 'after=1e30', 'before=5&after=1']) {
      const answer = await api(reader, 'GET', `${history}?${query}`)
      expectError(answer, 422, 'VALIDATION_FAILED')
      // The last parameter is the wrong one in each case, and the answer names it.
      const field = query.split('&').at(-1)!.split('=')[0]
      expect({ query, fields: answer.body.details.map((d: { field: string }) => d.field) }).toEqual({ query, fields: [field] })
    }
  })

  test('parameters it does not know, such as a cache buster, are ignored', async () => {
    expect(seqsOf(await api(reader, 'GET', `${history}?before=4&limit=2&_=${Date.now()}`))).toEqual([2, 3])
  })
})

describe('bad input', () => {
  test('malformed room ids answer 422 and unknown rooms 404 on every route', async () => {
    const user = await newUser()
    const routes: [string, string, unknown?][] = [
      ['GET', ''],
      ['POST', '/join'],
      ['POST', '/leave'],
      ['POST', '/members', { userId: user.id }],
      ['POST', '/read', { seq: 1 }],
      ['GET', '/presence'],
      ['GET', '/messages'],
    ]
    for (const [method, suffix, body] of routes) {
      expectError(await api(user, method, `/chat/rooms/not-a-uuid${suffix}`, body), 422, 'VALIDATION_FAILED')
      expectError(await api(user, method, `/chat/rooms/${crypto.randomUUID()}${suffix}`, body), 404, 'NOT_FOUND')
    }
  })

  test('bodies with missing or wrong fields answer 422', async () => {
    const user = await newUser()
    const room = await createRoom(user)
    const cases: [string, unknown][] = [
      ['/chat/rooms', {}],
      ['/chat/rooms', { name: '' }],
      ['/chat/rooms', { name: '   ' }],
      ['/chat/rooms', { name: '\u00A0\u3000' }],
      ['/chat/rooms', { name: 'x'.repeat(101) }],
      ['/chat/rooms', { name: 'line\nbreak' }],
      ['/chat/rooms', { name: 'nul\u0000' }],
      ['/chat/rooms', { name: 'ok', private: 'yes' }],
      ['/chat/dms', {}],
      ['/chat/dms', { userId: 'bob' }],
      [`/chat/rooms/${room.id}/members`, {}],
      [`/chat/rooms/${room.id}/members`, { userId: 42 }],
      [`/chat/rooms/${room.id}/read`, {}],
      [`/chat/rooms/${room.id}/read`, { seq: -1 }],
      [`/chat/rooms/${room.id}/read`, { seq: 1.5 }],
      [`/chat/rooms/${room.id}/read`, { seq: 'three' }],
      [`/chat/rooms/${room.id}/read`, { seq: 1e30 }],
    ]
    for (const [path, body] of cases) {
      const answer = await api(user, 'POST', path, body)
      expect({ path, body, status: answer.status }).toEqual({ path, body, status: 422 })
      expectError(answer, 422, 'VALIDATION_FAILED')
      expect(answer.body.details.length).toBeGreaterThan(0)
    }
    expect(((await api(user, 'GET', '/chat/rooms?mine=true')).body.items as unknown[]).length).toBe(1)
  })

  test('unknown body fields are refused with 422 naming each, like on every service, and nothing is stored', async () => {
    const [user, other] = await Promise.all([newUser(), newUser()])
    const room = await createRoom(user)
    const name = uniqueName('extra')
    const cases: [string, Record<string, unknown>, string[]][] = [
      ['/chat/rooms', { name, ownerId: other.id, lastSeq: 99, id: crypto.randomUUID() }, ['id', 'lastSeq', 'ownerId']],
      [`/chat/rooms/${room.id}/members`, { userId: other.id, role: 'owner' }, ['role']],
      ['/chat/dms', { userId: other.id, name: 'custom' }, ['name']],
      [`/chat/rooms/${room.id}/read`, { seq: 0, userId: other.id }, ['userId']],
    ]
    for (const [path, body, fields] of cases) {
      const answer = await api(user, 'POST', path, body)
      expectError(answer, 422, 'VALIDATION_FAILED')
      expect({ path, fields: answer.body.details.map((d: { field: string }) => d.field).sort() }).toEqual({ path, fields })
    }
    expect((await api(user, 'GET', `/chat/rooms?q=${name}`)).body.items).toEqual([])
    expect((await api(user, 'GET', `/chat/rooms/${room.id}`)).body.members).toBe(1)
    expect((await api(other, 'GET', '/chat/rooms?mine=true')).body.items).toEqual([])
  })

  test('bad listing parameters, malformed JSON and missing tokens get their own errors', async () => {
    const user = await newUser()
    for (const query of ['cursor=garbage', 'limit=0', 'limit=1.5', 'mine=maybe', `q=${encodeURIComponent('\u202Eevil')}`]) {
      const answer = await api(user, 'GET', `/chat/rooms?${query}`)
      expectError(answer, 422, 'VALIDATION_FAILED')
      expect({ query, fields: answer.body.details.map((d: { field: string }) => d.field) }).toEqual({ query, fields: [query.split('=')[0]] })
    }
    expect((await api(user, 'GET', `/chat/rooms?mine=true&_=${Date.now()}`)).status).toBe(200)
    expect((await api(user, 'GET', `/chat/rooms?q=${encodeURIComponent('%_\\')}`)).body).toEqual({ items: [], nextCursor: null })
    expectError(await call(stack.url, 'POST', '/chat/rooms', { token: user.token, raw: '{"name":' }), 400, 'MALFORMED_JSON')
    expectError(await call(stack.url, 'GET', '/chat/rooms'), 401, 'UNAUTHENTICATED')
    expectError(await call(stack.url, 'POST', '/chat/dms', { body: { userId: user.id } }), 401, 'UNAUTHENTICATED')
  })
})

describe('user directory', () => {
  test('the chat asks the user service whether an account exists, over the internal route only', async () => {
    const user = await newUser()
    const userService = stack.instancesOf('user')[0].url
    const directory = createUserDirectory(userService, stack.internalToken)
    expect(await directory.exists(user.id)).toBe(true)
    expect(await directory.exists(crypto.randomUUID())).toBe(false)
    expect(await createUserDirectory('http://127.0.0.1:9', stack.internalToken).exists(user.id)).toBe('unavailable')
    expect(await createUserDirectory(userService, 'x'.repeat(43)).exists(user.id)).toBe('unavailable')

    const path = `/internal/users/${user.id}`
    expectError(await call(userService, 'GET', path), 403, 'FORBIDDEN')
    expect((await call(userService, 'GET', path, { headers: { [INTERNAL_TOKEN_HEADER]: stack.internalToken } })).status).toBe(204)
    expect((await call(stack.url, 'GET', path, { headers: { [INTERNAL_TOKEN_HEADER]: stack.internalToken } })).status).toBe(404)
  })
})
