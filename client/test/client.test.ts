import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestStack, type TestStack } from '../../test/harness'
import { range } from '../../test/chat-helpers'
import { uniqueName } from '../../test/client'
import { expectNever, waitUntil } from '../../test/wait'
import { wsUrl } from '../../test/ws-client'
import { createApiClient, type ApiClient } from '../src/api'
import { ApiError, ChatSocketError } from '../src/errors'
import { createChatSocket, type ChatSocket, type ChatSocketEvents, type ChatSocketOptions } from '../src/socket'
import { createMemoryTokenStore, toAccessToken, type TokenStore } from '../src/tokens'
import { createEmitter } from '../src/emitter'
import type { RoomEvent, TimelineMessage } from '../src/room-events'
import { trackRooms } from '../src/room-state'

/** Short-lived access tokens, so every test also runs through refreshes and socket renewals. */
const ACCESS_TOKEN_TTL_SECONDS = 6
const PASSWORD = 'correct horse battery staple'
/** How long a copy of the tokens is made to look fresh past the server's expiry (a laptop woken from sleep). */
const STALE_TRUST_MS = 3_600_000
/** Frames the server would still send arrive well within this. */
const QUIET_MS = 300
/** A late answer comes this long after the others: well after a token refresh has finished. */
const LATE_ANSWER_MS = 300

let stack: TestStack
const sockets: ChatSocket[] = []

beforeAll(async () => {
  stack = await startTestStack({ chat: 2, env: { ACCESS_TOKEN_TTL_SECONDS: String(ACCESS_TOKEN_TTL_SECONDS) } })
})
afterAll(async () => {
  for (const socket of sockets) socket.close()
  await stack?.stop()
})

type Person = { api: ApiClient; tokens: TokenStore; id: string; username: string; ended: string[] }

async function signUp(prefix: string): Promise<Person> {
  const username = uniqueName(prefix)
  const tokens = createMemoryTokenStore()
  const ended: string[] = []
  const api = createApiClient({ baseUrl: stack.url, tokens, onSessionEnded: (code) => ended.push(code) })
  const user = await api.register({ username, email: `${username}@example.com`, password: PASSWORD })
  await api.login(username, PASSWORD)
  return { api, tokens, id: user.id, username, ended }
}

/** A second session of the same person, as another device would have. */
async function logInAgain(person: Person): Promise<Person> {
  const tokens = createMemoryTokenStore()
  const ended: string[] = []
  const api = createApiClient({ baseUrl: stack.url, tokens, onSessionEnded: (code) => ended.push(code) })
  await api.login(person.username, PASSWORD)
  return { ...person, api, tokens, ended }
}

/** Asked of the server itself, past the client's own idea of the token's expiry. */
async function isRefusedByServer(accessToken: string): Promise<boolean> {
  const response = await fetch(`${stack.url}/users/me`, { headers: { authorization: `Bearer ${accessToken}` } })
  await response.arrayBuffer()
  return response.status === 401
}

type Recorded = { [K in keyof ChatSocketEvents]: ChatSocketEvents[K][] }

/** A socket through Caddy that records every event it emits. */
function openSocket(person: Person, options: Partial<ChatSocketOptions> = {}): { socket: ChatSocket; seen: Recorded } {
  const socket = createChatSocket({ url: wsUrl(stack.url), getToken: person.api.getAccessToken, ...options })
  sockets.push(socket)
  const seen: Recorded = { status: [], ready: [], joined: [], message: [], event: [], receipt: [], room_added: [], presence: [], typing: [], left: [], error: [], close: [] }
  for (const type of Object.keys(seen) as (keyof Recorded)[]) socket.on(type, (payload) => (seen[type] as unknown[]).push(payload))
  return { socket, seen }
}

async function expectApiError(call: Promise<unknown>, status: number, code: string): Promise<ApiError> {
  const error = await call.then(
    () => null,
    (thrown: unknown) => thrown,
  )
  expect(error).toBeInstanceOf(ApiError)
  expect({ status: (error as ApiError).status, code: (error as ApiError).code }).toEqual({ status, code })
  expect(typeof (error as ApiError).message).toBe('string')
  return error as ApiError
}

const seqsOf = (seen: Recorded, room: string) => seen.message.filter((m) => m.room === room).map((m) => m.seq)

describe('typed REST client', () => {
  test('registers, logs in, and reads the profile and the session list', async () => {
    const ada = await signUp('ada')
    const me = await ada.api.getMe()
    expect(me).toMatchObject({ id: ada.id, username: ada.username, email: `${ada.username}@example.com` })
    expect(typeof me.createdAt).toBe('string')
    const sessions = await ada.api.listSessions()
    expect(sessions.filter((s) => s.current).map((s) => s.id)).toEqual([ada.tokens.load()!.sessionId])
    expect((await ada.api.updateMe({ displayName: 'Ada L.' })).displayName).toBe('Ada L.')
    expect((await ada.api.getSigningKeys()).keys.length).toBeGreaterThan(0)
  })

  test('errors arrive as ApiError in the contract shape', async () => {
    const ada = await signUp('ada')
    const taken = ada.api.register({ username: ada.username, email: `other-${ada.username}@example.com`, password: PASSWORD })
    await expectApiError(taken, 409, 'USERNAME_TAKEN')
    await expectApiError(ada.api.login(ada.username, 'not the password'), 401, 'INVALID_CREDENTIALS')
    const invalid = await expectApiError(ada.api.createRoom({ name: '' }), 422, 'VALIDATION_FAILED')
    expect(invalid.details.map((d) => d.field)).toContain('name')
    const loggedOut = createApiClient({ baseUrl: stack.url, tokens: createMemoryTokenStore() })
    await expectApiError(loggedOut.getMe(), 401, 'NOT_LOGGED_IN')
  })

  test('rooms: create, search, join, list mine with unread, read marker, history pages, leave', async () => {
    const [owner, guest] = [await signUp('owner'), await signUp('guest')]
    const name = `Lobby ${uniqueName('r')}`
    const room = await owner.api.createRoom({ name })
    expect(room).toMatchObject({ name, private: false, ownerId: owner.id, lastSeq: 0 })

    const found = await guest.api.listRooms({ q: name.slice(0, 12) })
    expect(found.items.map((r) => r.id)).toContain(room.id)
    await guest.api.joinRoom(room.id)
    const joined = await guest.api.getRoom(room.id)
    expect(joined.members).toBe(2)
    // The join is an event of the room's stream: it took a seq before the messages.
    const base = joined.lastSeq

    const { socket } = openSocket(owner)
    for (let i = 1; i <= 7; i++) await socket.send(room.id, `message ${i}`)
    const mine = await guest.api.listRooms({ mine: true })
    expect(mine.items.find((r) => r.id === room.id)).toMatchObject({ unread: 7, lastSeq: base + 7 })
    await guest.api.markRead(room.id, base + 5)
    expect((await guest.api.listRooms({ mine: true })).items.find((r) => r.id === room.id)?.unread).toBe(2)

    const newest = await guest.api.listMessages(room.id, { limit: 3 })
    expect(newest.items.map((m) => m.seq - base)).toEqual([5, 6, 7])
    const older = await guest.api.listMessages(room.id, { before: newest.nextCursor!, limit: 3 })
    expect(older.items.map((m) => m.seq - base)).toEqual([2, 3, 4])
    const oldest = await guest.api.listMessages(room.id, { before: older.nextCursor!, limit: 3 })
    expect([oldest.items.map((m) => m.seq - base), oldest.nextCursor]).toEqual([[1], null])
    expect((await guest.api.listMessages(room.id, { after: base + 5 })).items.map((m) => m.body)).toEqual(['message 6', 'message 7'])

    await guest.api.leaveRoom(room.id)
    await expectApiError(guest.api.listMessages(room.id), 403, 'FORBIDDEN')
    socket.close()
  })

  // A crafted `/invite/…` link hands the web client such a code; Eden would have put it into the path as it is.
  test('an id or code holding a path is one segment: a crafted invite code cannot reach another route with the caller’s token', async () => {
    const member = await signUp('member')
    const room = await member.api.createRoom({ name: `Kept ${uniqueName('r')}` })
    await expectApiError(member.api.acceptInvite(`../rooms/${room.id}/leave?`), 422, 'VALIDATION_FAILED')
    await expectApiError(member.api.acceptInvite('..'), 422, 'VALIDATION_FAILED')
    await expectApiError(member.api.getRoom(`${room.id}/leave`), 422, 'VALIDATION_FAILED')
    expect((await member.api.getRoom(room.id)).members).toBe(1)
    expect((await member.api.listRooms({ mine: true })).items.map((r) => r.id)).toContain(room.id)
  })

  test('a direct room with a user found by search is the same room from both sides', async () => {
    const [ada, grace] = [await signUp('ada'), await signUp('grace')]
    const results = await ada.api.searchUsers({ q: grace.username, limit: 5 })
    expect(results.items.map((u) => u.id)).toEqual([grace.id])
    const fromAda = await ada.api.openDirectRoom(results.items[0].id)
    const fromGrace = await grace.api.openDirectRoom(ada.id)
    expect(fromGrace.id).toBe(fromAda.id)
    expect(fromAda.private).toBe(true)
    expect((await grace.api.getUser(ada.id)).username).toBe(ada.username)
  })
})

// Before the socket tests: the last of them kills a chat instance, and Caddy 2.6 answers
// POSTs routed to it 503 until its health check notices (README, Caddy).
describe('tracked room state against the server', () => {
  test('another user’s reaction is counted once when its frame arrives after a history page that already includes it', async () => {
    const [owner, guest] = [await signUp('owner'), await signUp('guest')]
    const room = await owner.api.createRoom({ name: `Race ${uniqueName('r')}` })
    await guest.api.joinRoom(room.id)
    const { socket, seen } = openSocket(owner)
    // The tracker hears the real socket, but its event frames are held back until released:
    // the order in which a slow frame and a fast history answer can arrive.
    const relay = createEmitter<{ ready: { userId: string }; message: TimelineMessage; event: RoomEvent }>()
    const held: RoomEvent[] = []
    socket.on('ready', (ready) => relay.emit('ready', ready))
    socket.on('message', (message) => relay.emit('message', message))
    socket.on('event', (event) => held.push(event))
    const rooms = trackRooms(relay)
    await socket.join(room.id)
    const sent = await socket.send(room.id, 'count this once')

    await guest.api.react(room.id, sent.id, '👍', true)
    await waitUntil(() => held.some((e) => e.kind === 'reaction'), 'the reaction frame arrived')
    const page = await owner.api.listMessages(room.id)
    expect(page.lastSeq).toBe(held.at(-1)!.seq)
    rooms.load(room.id, page.items, page.lastSeq)
    for (const event of held.splice(0)) relay.emit('event', event)
    expect(rooms.get(room.id)?.messages.find((m) => m.id === sent.id)?.reactions).toEqual([{ emoji: '👍', count: 1, me: false }])

    // Changes after the page still count, and the stream's membership change is a notice.
    socket.on('event', (event) => relay.emit('event', event))
    await owner.api.react(room.id, sent.id, '👍', true)
    await waitUntil(() => rooms.get(room.id)?.messages[0].reactions?.[0]?.count === 2, 'the owner’s reaction is counted')
    expect(rooms.get(room.id)?.messages[0].reactions).toEqual([{ emoji: '👍', count: 2, me: true }])
    const stream = await owner.api.listEvents(room.id, { after: 0 })
    expect(stream.items.map((item) => item.kind)).toEqual(['member', 'message', 'reaction', 'reaction'])
    expect(seen.event.length).toBe(2)
    rooms.stop()
    socket.close()
  })
})

describe('chat socket', () => {
  test('two users chat live both ways, with presence, typing and acks carrying the stored seq', async () => {
    const [ada, bob] = [await signUp('ada'), await signUp('bob')]
    const room = await ada.api.createRoom({ name: `chat ${uniqueName('r')}` })
    await bob.api.joinRoom(room.id)
    // Bob's join took a seq of the room's stream before any message.
    const base = (await ada.api.getRoom(room.id)).lastSeq
    const b = openSocket(bob)
    await b.socket.join(room.id)
    const a = openSocket(ada)
    await a.socket.join(room.id)
    await waitUntil(() => b.seen.presence.some((p) => p.userId === ada.id && p.online), 'bob sees ada come online')
    expect((await bob.api.getPresence(room.id)).map((p) => p.userId).sort()).toEqual([ada.id, bob.id].sort())

    a.socket.typing(room.id)
    await waitUntil(() => b.seen.typing.some((t) => t.userId === ada.id && t.room === room.id), 'bob sees ada typing')

    const ack = await a.socket.send(room.id, 'hello bob')
    expect(ack).toMatchObject({ room: room.id, seq: base + 1 })
    await b.socket.send(room.id, 'hi ada')
    await waitUntil(() => a.seen.message.length === 2 && b.seen.message.length === 2, 'both see both messages')
    for (const { seen } of [a, b]) expect(seen.message.map((m) => [m.seq, m.body])).toEqual([[base + 1, 'hello bob'], [base + 2, 'hi ada']])
    expect(a.seen.message[0]).toMatchObject({ id: ack.id, senderId: ada.id, clientId: ack.clientId })

    // Sending the same clientId again is acknowledged with the original message, not stored twice.
    const again = await a.socket.send(room.id, 'hello bob', ack.clientId)
    expect(again).toEqual(ack)

    // Leaving over REST ends the socket's subscription too.
    await bob.api.leaveRoom(room.id)
    await waitUntil(() => b.seen.left.some((l) => l.room === room.id), 'bob’s socket is told it left')
    await waitUntil(() => a.seen.presence.some((p) => p.userId === bob.id && !p.online), 'ada sees bob go offline in the room')
    a.socket.close()
    b.socket.close()
  })

  test('tokens are renewed before they expire: the socket and REST calls keep working over several lifetimes', async () => {
    const ada = await signUp('ada')
    const room = await ada.api.createRoom({ name: `renewal ${uniqueName('r')}` })
    const a = openSocket(ada)
    await a.socket.join(room.id)
    const firstToken = ada.tokens.load()!.accessToken
    // Another device of ada's whose token has expired although its copy says it is fresh (a laptop woken from sleep).
    const stale = await logInAgain(ada)
    stale.tokens.save({ ...stale.tokens.load()!, renewAt: Number.POSITIVE_INFINITY })

    // Two renewals on the open socket, and the other device's token past its expiry.
    await waitUntil(() => a.seen.ready.length >= 3, { message: 'the socket has renewed its session twice', timeoutMs: ACCESS_TOKEN_TTL_SECONDS * 3_000 })
    await waitUntil(() => isRefusedByServer(stale.tokens.load()!.accessToken), { message: 'the other device’s token has expired', timeoutMs: ACCESS_TOKEN_TTL_SECONDS * 2_000 })
    expect(a.seen.close).toEqual([])
    expect(a.seen.ready.length).toBeGreaterThanOrEqual(3)
    expect(new Set(a.seen.ready.map((r) => r.sessionId)).size).toBe(1)
    expect(ada.tokens.load()!.accessToken).not.toBe(firstToken)
    expect(await a.socket.send(room.id, 'still here')).toMatchObject({ seq: 1 })
    expect((await ada.api.getMe()).id).toBe(ada.id)

    // 401 TOKEN_EXPIRED: refreshed once, and the call retried.
    const staleToken = stale.tokens.load()!.accessToken
    expect((await stale.api.getMe()).id).toBe(ada.id)
    expect(stale.tokens.load()!.accessToken).not.toBe(staleToken)
    expect(stale.ended).toEqual([])
    a.socket.close()
  }, 30_000)

  test('"log out everywhere" closes every socket of the user with 4403, which is not retried', async () => {
    const phone = await signUp('cy')
    const laptop = await logInAgain(phone)
    const room = await phone.api.createRoom({ name: `logout ${uniqueName('r')}` })
    const onPhone = openSocket(phone)
    const onLaptop = openSocket(laptop)
    await Promise.all([onPhone.socket.join(room.id), onLaptop.socket.join(room.id)])

    await laptop.api.logout('global')
    expect(laptop.api.isLoggedIn()).toBe(false)
    await waitUntil(() => onPhone.socket.status === 'closed' && onLaptop.socket.status === 'closed', 'both sockets are closed')
    expect(onPhone.seen.close).toEqual([{ code: 4403, reason: expect.any(String), willReconnect: false }])
    const pending = onPhone.socket.send(room.id, 'too late')
    await expectNever(() => onPhone.seen.status.includes('reconnecting'), { message: 'the closed socket reconnecting', forMs: QUIET_MS })

    await expectApiError(phone.api.getMe(), 401, 'TOKEN_REVOKED')
    expect(phone.ended).toEqual(['TOKEN_REVOKED'])
    expect(phone.api.isLoggedIn()).toBe(false)
    onPhone.socket.close()
    await expect(pending).rejects.toThrow()
  })

  test('a room left while its join is on its way sends nothing more, and its seq is not learned', async () => {
    const [ada, bob] = [await signUp('ada'), await signUp('bob')]
    const room = await bob.api.createRoom({ name: `left early ${uniqueName('r')}` })
    await ada.api.joinRoom(room.id)
    const b = openSocket(bob)
    await b.socket.join(room.id)
    const a = openSocket(ada)
    await waitUntil(() => a.socket.status === 'open', 'ada’s socket is ready')
    // Not `expect(…).rejects` yet: it would wait for the join to settle before the leave is sent.
    const joining = a.socket.join(room.id).then(
      () => 'joined',
      (error: ChatSocketError) => error.code,
    )
    await a.socket.leave(room.id)
    expect(await joining).toBe('LEFT')
    // The server answered the join after all, and the socket left the room again at once.
    await waitUntil(() => b.seen.presence.some((p) => p.userId === ada.id && !p.online), 'bob sees ada go offline in the room')

    await b.socket.send(room.id, 'nobody there?')
    await expectNever(() => a.seen.message.length > 0 || a.seen.left.length > 0, { message: 'ada’s socket hearing from the room it left', forMs: QUIET_MS })
    expect(a.socket.lastSeq(room.id)).toBeUndefined()
    a.socket.close()
    b.socket.close()
  })

  test('a token that expired unseen (a laptop woken from sleep) is rotated once for concurrent calls, and a 4401 is answered with one refresh', async () => {
    const ada = await signUp('ada')
    const laptop = await logInAgain(ada)
    for (const person of [ada, laptop]) person.tokens.save({ ...person.tokens.load()!, renewAt: Date.now() + STALE_TRUST_MS })
    const room = await ada.api.createRoom({ name: `woken ${uniqueName('r')}` })
    let refreshes = 0
    const a = openSocket(ada, {
      refreshToken: () => {
        refreshes++
        return ada.api.refresh()
      },
    })
    await a.socket.join(room.id)
    const expired = toAccessToken(ada.tokens.load()!)

    // The server closes the socket at the expiry; one refresh later it is back on a new token.
    await waitUntil(() => a.seen.ready.length === 2, { message: 'ada’s socket is ready again', timeoutMs: expired.expiresAt - Date.now() + 5_000 })
    expect(a.seen.close).toEqual([{ code: 4401, reason: expect.any(String), willReconnect: true }])
    expect(refreshes).toBe(1)
    expect(await a.socket.send(room.id, 'awake')).toMatchObject({ seq: 1 })

    // Concurrent calls all answered 401 TOKEN_EXPIRED, all but the first after its refresh is
    // done (as on a slow link): one rotation, and each call retried.
    await waitUntil(() => isRefusedByServer(laptop.tokens.load()!.accessToken), 'the laptop’s token has expired')
    let saved = 0
    const save = laptop.tokens.save
    laptop.tokens.save = (tokens) => {
      saved++
      save(tokens)
    }
    const realFetch = globalThis.fetch
    let refusals = 0
    globalThis.fetch = (async (...args: Parameters<typeof fetch>) => {
      const response = await realFetch(...args)
      if (response.status === 401 && refusals++ > 0) await Bun.sleep(LATE_ANSWER_MS)
      return response
    }) as typeof fetch
    try {
      const answers = await Promise.all(range(1, 5).map(() => laptop.api.getMe()))
      expect(answers.map((me) => me.id)).toEqual(range(1, 5).map(() => ada.id))
    } finally {
      globalThis.fetch = realFetch
    }
    expect(saved).toBe(1)
    expect(laptop.ended).toEqual([])

    // A token source stuck on the expired token: after its one refresh, the second 4401 ends the socket.
    let stuckRefreshes = 0
    const stuck = openSocket(ada, {
      getToken: async () => expired,
      refreshToken: async () => {
        stuckRefreshes++
      },
    })
    await waitUntil(() => stuck.socket.status === 'closed', 'the stuck socket gives up')
    expect(stuck.seen.close).toEqual([
      { code: 4401, reason: expect.any(String), willReconnect: true },
      { code: 4401, reason: expect.any(String), willReconnect: false },
    ])
    expect(stuckRefreshes).toBe(1)
    expect(stuck.seen.ready).toEqual([])
    a.socket.close()
  }, 30_000)

  // Last: it leaves one chat instance, and Caddy sends requests to the dead one until its next health check.
  test('after a chat instance is killed, sockets reconnect through Caddy, resume without gap or duplicate, and re-send until acknowledged', async () => {
    const [ada, bob] = [await signUp('ada'), await signUp('bob')]
    const room = await ada.api.createRoom({ name: `outage ${uniqueName('r')}` })
    await bob.api.joinRoom(room.id)
    // Bob's join took a seq of the room's stream before any message.
    const base = (await ada.api.getRoom(room.id)).lastSeq
    // Opened one after another, so Caddy's round robin puts one socket of each user on each instance.
    const clients: ReturnType<typeof openSocket>[] = []
    for (const person of [ada, ada, bob, bob]) {
      const client = openSocket(person)
      await client.socket.join(room.id)
      clients.push(client)
    }
    const [ada1, ada2] = clients
    for (let i = 1; i <= 3; i++) await ada2.socket.send(room.id, `before ${i}`)
    await waitUntil(() => clients.every(({ seen }) => seen.message.length === 3), 'every socket has the first messages')

    await stack.kill(stack.instancesOf('chat')[0], 'SIGKILL')
    const acks = await Promise.all([
      ...range(1, 3).map((i) => ada1.socket.send(room.id, `from ada1 ${i}`)),
      ...range(1, 3).map((i) => ada2.socket.send(room.id, `from ada2 ${i}`)),
    ])
    expect(new Set(acks.map((ack) => ack.seq)).size).toBe(6)
    await waitUntil(() => clients.every(({ seen }) => seen.message.length >= 9), 'every socket has all nine messages', 20_000)
    await expectNever(() => clients.some(({ seen }) => seen.message.length > 9), { message: 'a message arriving twice', forMs: QUIET_MS })
    for (const { seen } of clients) expect(seqsOf(seen, room.id)).toEqual(range(base + 1, base + 9))

    const dropped = clients.filter(({ seen }) => seen.close.length > 0)
    expect(dropped.length).toBeGreaterThan(0)
    for (const { socket, seen } of dropped) {
      expect(seen.close.every((c) => c.willReconnect)).toBe(true)
      expect(seen.status).toContain('reconnecting')
      expect(socket.status).toBe('open')
    }
    const stored = await stack.sql`select seq from chat.messages where room_id = ${room.id} order by seq`
    expect(stored.map((row) => Number(row.seq))).toEqual(range(base + 1, base + 9))
    for (const { socket } of clients) socket.close()
  }, 40_000)
})
