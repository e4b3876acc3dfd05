import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createRoom, person, type Person } from '../../test/chat-helpers'
import { call, expectError, uniqueName } from '../../test/client'
import { startTestStack, type TestStack } from '../../test/harness'
import { whileLocked } from '../../test/locks'
import { connect, joinRoom, type SocketClient } from '../../test/ws-client'

let stack: TestStack
const sockets: SocketClient[] = []

beforeAll(async () => {
  stack = await startTestStack({ chat: 1 })
})
afterAll(async () => {
  for (const socket of sockets) socket.close()
  await stack?.stop()
})

type Found = { id: string; room: string; body: string }
type SearchAnswer = { status: number; items: Found[]; nextCursor: string | null; body: Record<string, any> }

/** A word no other test (and no other run) uses, so each test sees only its own messages. */
const word = (prefix: string) => `${prefix}${crypto.randomUUID().replaceAll('-', '').slice(0, 10)}`

async function search(who: Person, params: Record<string, string>): Promise<SearchAnswer> {
  const answer = await call(stack.url, 'GET', `/chat/search?${new URLSearchParams(params)}`, { token: who.accessToken })
  return { status: answer.status, items: answer.body.items ?? [], nextCursor: answer.body.nextCursor ?? null, body: answer.body }
}

/** Sends `body` to `room` over a socket that joined it and waits for the ack; the message's id. */
async function say(socket: SocketClient, room: string, body: string): Promise<string> {
  const clientId = crypto.randomUUID()
  socket.send({ type: 'send', room, body, clientId, ref: clientId })
  const answer = await socket.next((f) => f.ref === clientId)
  expect(answer.type).toBe('ack')
  return answer.id
}

async function speaker(who: Person, rooms: string[]): Promise<SocketClient> {
  const socket = await connect(stack.url, who.accessToken)
  sockets.push(socket)
  for (const room of rooms) await joinRoom(socket, room)
  return socket
}

test('the search index takes new messages directly, with no pending list whose merge would hold up a store', async () => {
  const [index] = await stack.sql<{ options: string[] | null }[]>`select reloptions as options from pg_class where oid = 'chat.messages_search'::regclass`
  expect(index.options).toContain('fastupdate=off')
})

describe('GET /chat/search', () => {
  test('finds a word across the caller’s rooms, newest first, page by page', async () => {
    const [alice, bob] = [await person(stack.url), await person(stack.url)]
    const [first, second] = [await createRoom(stack.url, alice, [bob]), await createRoom(stack.url, alice)]
    const others = await createRoom(stack.url, bob)
    const [aliceSays, bobSays] = [await speaker(alice, [first, second]), await speaker(bob, [first, others])]
    const needle = word('kiwi')
    const sent = [
      await say(aliceSays, first, `a ${needle} in the first room`),
      await say(aliceSays, second, `${needle.toUpperCase()} shouted in the second`),
      await say(bobSays, first, 'nothing to see here'),
      await say(bobSays, first, `bob's ${needle}, punctuated!`),
      await say(aliceSays, second, `last ${needle}`),
    ]
    await say(bobSays, others, `${needle} in a room alice is not in`)

    const pageOne = await search(alice, { q: needle, limit: '2' })
    expect(pageOne.status).toBe(200)
    expect(pageOne.items.map((m) => m.id)).toEqual([sent[4], sent[3]])
    expect(pageOne.nextCursor).not.toBeNull()
    const pageTwo = await search(alice, { q: needle, limit: '2', cursor: pageOne.nextCursor! })
    expect(pageTwo.items.map((m) => m.id)).toEqual([sent[1], sent[0]])
    expect(pageTwo.nextCursor).toBeNull()

    const inOneRoom = await search(alice, { q: needle, room: second })
    expect(inOneRoom.items.map((m) => m.id)).toEqual([sent[4], sent[1]])
    expect((await search(bob, { q: needle })).items).toHaveLength(3)
  })

  test('never finds messages of a room the caller is not in, nor of one they left or were removed from', async () => {
    const [alice, bob, carol] = [await person(stack.url), await person(stack.url), await person(stack.url)]
    const publicRoom = await createRoom(stack.url, alice, [bob, carol])
    const secret = await call(stack.url, 'POST', '/chat/rooms', { token: alice.accessToken, body: { name: uniqueName('secret'), private: true } })
    const needle = word('plum')
    const aliceSays = await speaker(alice, [publicRoom, secret.body.id])
    await say(aliceSays, publicRoom, `${needle} for everyone`)
    await say(aliceSays, secret.body.id, `${needle} for alice only`)

    expect((await search(bob, { q: needle })).items.map((m) => m.room)).toEqual([publicRoom])
    expectError(await call(stack.url, 'GET', `/chat/search?q=${needle}&room=${secret.body.id}`, { token: bob.accessToken }), 404, 'NOT_FOUND')

    expect((await call(stack.url, 'POST', `/chat/rooms/${publicRoom}/leave`, { token: bob.accessToken })).status).toBe(204)
    expect((await search(bob, { q: needle })).items).toEqual([])
    expectError(await call(stack.url, 'GET', `/chat/search?q=${needle}&room=${publicRoom}`, { token: bob.accessToken }), 403, 'FORBIDDEN')

    // A removal ends the membership row the same way, whoever ends it.
    expect((await search(carol, { q: needle })).items).toHaveLength(1)
    await stack.sql`delete from chat.members where room_id = ${publicRoom} and user_id = ${carol.userId}`
    expect((await search(carol, { q: needle })).items).toEqual([])
  })

  test('a deleted message never matches; an edited one matches its new text only', async () => {
    const [alice, bob] = [await person(stack.url), await person(stack.url)]
    const room = await createRoom(stack.url, alice, [bob])
    const aliceSays = await speaker(alice, [room])
    const [gone, before, after] = [word('gone'), word('before'), word('after')]
    const deleted = await say(aliceSays, room, `${gone} will be taken back`)
    const edited = await say(aliceSays, room, `${before} typo`)
    expect((await search(bob, { q: gone })).items.map((m) => m.id)).toEqual([deleted])

    expect((await call(stack.url, 'DELETE', `/chat/rooms/${room}/messages/${deleted}`, { token: alice.accessToken })).status).toBe(204)
    expect((await search(bob, { q: gone })).items).toEqual([])
    expect((await search(bob, { q: 'taken back' })).items.map((m) => m.id)).not.toContain(deleted)

    expect((await call(stack.url, 'PATCH', `/chat/rooms/${room}/messages/${edited}`, { token: alice.accessToken, body: { body: `${after} fixed` } })).status).toBe(200)
    expect((await search(bob, { q: before })).items).toEqual([])
    const found = await search(bob, { q: after })
    expect(found.items.map((m) => ({ id: m.id, body: m.body }))).toEqual([{ id: edited, body: `${after} fixed` }])
    expect(found.items[0]).toMatchObject({ editedAt: expect.any(String), reactions: [] })
  })

  test('matches words as written in any language, and stemmed in the configured one', async () => {
    const alice = await person(stack.url)
    const room = await createRoom(stack.url, alice)
    const aliceSays = await speaker(alice, [room])
    const tag = word('tag')
    const english = await say(aliceSays, room, `${tag} she was running the migrations twice`)
    const russian = await say(aliceSays, room, `${tag} привет мир, Straße und Grüße`)

    expect((await search(alice, { q: `${tag} runs`, room })).items.map((m) => m.id)).toEqual([english])
    expect((await search(alice, { q: `${tag} migration`, room })).items.map((m) => m.id)).toEqual([english])
    expect((await search(alice, { q: `${tag} "running the migrations"`, room })).items.map((m) => m.id)).toEqual([english])
    expect((await search(alice, { q: `${tag} -running`, room })).items.map((m) => m.id)).toEqual([russian])
    expect((await search(alice, { q: 'ПРИВЕТ straße', room })).items.map((m) => m.id)).toEqual([russian])
    expect((await search(alice, { q: `${tag} or nonexistentword`, room })).items).toHaveLength(2)
  })

  test('hostile search text is answered 200 or 422, never 500', async () => {
    const alice = await person(stack.url)
    const hostile = [
      '"', '""', '"unclosed phrase', '-', '--', 'or', 'OR OR', '!', '&&', '||', '(', ')', ':*', "'", "\\", '<->', '!(a & b)',
      "a' or '1'='1", '); drop table chat.messages; --', 'a:*B', '"a" -"b" or c', '%', '_', '*',
      'x'.repeat(200), 'word '.repeat(40), '🙂', '\u202Eevil', 'a\u0000b', 'x'.repeat(201), 'é'.repeat(300),
    ].map(encodeURIComponent)
    // Bytes that are not UTF-8 at all: a lone surrogate, a stray byte, a cut sequence.
    hostile.push('%ED%A0%80', '%FF', '%C3', '%00')
    for (const q of hostile) {
      const answer = await call(stack.url, 'GET', `/chat/search?q=${q}`, { token: alice.accessToken })
      expect({ q, ok: [200, 422].includes(answer.status) }).toEqual({ q, ok: true })
    }
    for (const q of ['', '   ', '"" -', '!!!', 'a\u0000b', 'x'.repeat(201)]) {
      expectError(await call(stack.url, 'GET', `/chat/search?q=${encodeURIComponent(q)}`, { token: alice.accessToken }), 422, 'VALIDATION_FAILED')
    }
    expectError(await call(stack.url, 'GET', '/chat/search', { token: alice.accessToken }), 422, 'VALIDATION_FAILED')
  })

  test('a cursor not handed out by the API is 422, and the route needs a token', async () => {
    const alice = await person(stack.url)
    const answer = await call(stack.url, 'GET', '/chat/search?q=hello&cursor=bm90LWEtY3Vyc29y', { token: alice.accessToken })
    expectError(answer, 422, 'VALIDATION_FAILED')
    expect(answer.body.details).toEqual([{ field: 'cursor', message: expect.any(String) }])
    // A time of the right shape that Postgres cannot take (year 0000) was a 500.
    const yearZero = Buffer.from(JSON.stringify(['0000-01-01T00:00:00.000000Z', crypto.randomUUID(), 1])).toString('base64url')
    expectError(await call(stack.url, 'GET', `/chat/search?q=hello&cursor=${yearZero}`, { token: alice.accessToken }), 422, 'VALIDATION_FAILED')
    expectError(await call(stack.url, 'GET', '/chat/search?q=hello'), 401)
    expectError(await call(stack.url, 'GET', `/chat/search?q=hello&room=${crypto.randomUUID()}`, { token: alice.accessToken }), 404, 'NOT_FOUND')
  })
})

describe('limits of search', () => {
  test('a search running past SEARCH_STATEMENT_TIMEOUT_MS is cancelled and answered 503; the next one works', async () => {
    const limited = await stack.startInstance('chat', { env: { SEARCH_STATEMENT_TIMEOUT_MS: '200' } })
    const alice = await person(stack.url)
    await createRoom(stack.url, alice)
    const searchAt = () => call(limited.url, 'GET', `/chat/search?q=${word('slow')}`, { token: alice.accessToken })
    // A lock nothing else takes here holds the search as long as a scan of a huge table would.
    const started = performance.now()
    const cancelled = await whileLocked(stack.sql, 'chat.messages', searchAt)
    const tookMs = performance.now() - started
    expect(cancelled.status).toBe(503)
    expect(tookMs).toBeLessThan(1500)
    expect((await searchAt()).status).toBe(200)
  })

  test('searches by one user beyond the per-minute limit answer 429; another user still searches', async () => {
    const limited = await stack.startInstance('chat', { env: { SEARCH_MAX_PER_MINUTE_PER_USER: '2' } })
    const [alice, bob] = [await person(stack.url), await person(stack.url)]
    const searchAs = (who: Person) => call(limited.url, 'GET', `/chat/search?q=${word('w')}`, { token: who.accessToken })
    expect((await searchAs(alice)).status).toBe(200)
    expect((await searchAs(alice)).status).toBe(200)
    const refused = await searchAs(alice)
    expectError(refused, 429, 'RATE_LIMITED')
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(60)
    expect((await searchAs(bob)).status).toBe(200)
  })
})
