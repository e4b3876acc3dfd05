import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestStack, type TestStack } from '../../test/harness'
import { createRoom, person } from '../../test/chat-helpers'
import { waitUntil } from '../../test/wait'
import { connect, joinRoom, type Frame, type SocketClient } from '../../test/ws-client'
import { startTcpProxy, type TcpProxy } from '../../test/tcp-proxy'

const STATEMENT_TIMEOUT_MS = 1000
const QUEUE_MAX = 5

let stack: TestStack
let proxy: TcpProxy
let chatUrl: string

beforeAll(async () => {
  // A short statement_timeout, so a statement stuck behind a lock is cancelled within the test.
  // A small queue, so the bound is reached with a handful of sends.
  stack = await startTestStack({ chat: 1, env: { STORE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS), STORE_QUEUE_MAX: String(QUEUE_MAX) } })
  // A second chat instance that reaches the same real Postgres through a cuttable relay.
  const database = new URL(stack.databaseUrl)
  proxy = await startTcpProxy(database.hostname, Number(database.port || 5432))
  database.host = `127.0.0.1:${proxy.port}`
  chatUrl = (await stack.startInstance('chat', { env: { DATABASE_URL: database.toString() } })).url
})
afterAll(async () => {
  await stack?.stop()
  proxy?.stop()
})

describe('Postgres outage', () => {
  test('send answers an error frame, never a false ack, and the instance recovers by itself', async () => {
    const alice = await person(stack.url)
    const room = await createRoom(stack.url, alice)
    const socket = await connect(chatUrl, alice.accessToken)
    await joinRoom(socket, room)
    socket.send({ type: 'send', room, body: 'before', clientId: 'before', ref: 'before' })
    expect(await socket.next((f) => f.ref === 'before')).toMatchObject({ type: 'ack', seq: 1 })

    proxy.cut()
    socket.send({ type: 'send', room, body: 'during', clientId: 'during', ref: 'during' })
    const during = await socket.next((f) => f.ref === 'during', 20_000)
    expect(during).toMatchObject({ type: 'error', code: 'UNAVAILABLE' })
    const [{ count }] = await stack.sql`select count(*)::int as count from chat.messages where room_id = ${room}`
    expect(count).toBe(1)

    proxy.restore()
    // The client retries with the same clientId, as the error frame tells it to.
    expect(await resendUntilAcked(socket, { room, body: 'during', clientId: 'during' })).toMatchObject({ type: 'ack', seq: 2 })
    expect(await socket.next((f) => f.type === 'message' && f.seq === 2)).toMatchObject({ body: 'during' })
    socket.close()
  })
})

/** Holds the room's row lock, as a slow transaction would, until the returned function is called. */
async function lockRoom(room: string): Promise<() => Promise<void>> {
  let release = () => {}
  const released = new Promise<void>((resolve) => (release = resolve))
  let locked = () => {}
  const isLocked = new Promise<void>((resolve) => (locked = resolve))
  const holder = stack.sql.begin(async (tx) => {
    await tx`select id from chat.rooms where id = ${room} for update`
    locked()
    await released
  })
  await isLocked
  return async () => {
    release()
    await holder
  }
}

/** The client's part after an UNAVAILABLE: re-send with the same clientId until it is acknowledged. */
async function resendUntilAcked(socket: SocketClient, frame: { room: string; body: string; clientId: string }): Promise<Frame> {
  let attempt = 0
  let answer: Frame = {}
  await waitUntil(
    async () => {
      const ref = `${frame.clientId}-retry${attempt++}`
      socket.send({ type: 'send', ...frame, ref })
      answer = await socket.next((f) => f.ref === ref, 20_000)
      return answer.type === 'ack'
    },
    { message: `${frame.clientId} is acknowledged`, timeoutMs: 20_000, intervalMs: 250 },
  )
  return answer
}

describe('the store fails fast and cancels what it gives up on', () => {
  test('during an outage a burst of sends is answered UNAVAILABLE at once, none acknowledged, none stored', async () => {
    const alice = await person(stack.url)
    const room = await createRoom(stack.url, alice)
    const socket = await connect(chatUrl, alice.accessToken)
    await joinRoom(socket, room)
    proxy.cut()
    const burst = 50
    const started = performance.now()
    for (let i = 0; i < burst; i++) socket.send({ type: 'send', room, body: `b${i}`, clientId: `burst-${i}`, ref: `burst-${i}` })
    const answers = await socket.collect((f) => typeof f.ref === 'string' && f.ref.startsWith('burst-'), burst, 20_000)
    // One failed batch answers them all: at most the store's backstop (twice the statement
    // timeout) once, with margin; the old store made each batch wait its own 10 s.
    expect(performance.now() - started).toBeLessThan(STATEMENT_TIMEOUT_MS * 4)
    expect(answers.every((f) => f.type === 'error' && f.code === 'UNAVAILABLE')).toBe(true)
    proxy.restore()
    const [{ count }] = await stack.sql`select count(*)::int as count from chat.messages where room_id = ${room}`
    expect(count).toBe(0)
    expect(await resendUntilAcked(socket, { room, body: 'b0', clientId: 'burst-0' })).toMatchObject({ seq: 1 })
    socket.close()
  })

  test('a store statement stuck behind a lock is cancelled by Postgres, and the sends behind it are answered at once', async () => {
    const alice = await person(stack.url)
    const room = await createRoom(stack.url, alice)
    const direct = stack.instancesOf('chat')[0].url
    const socket = await connect(direct, alice.accessToken)
    const unlock = await lockRoom(room)
    try {
      socket.send({ type: 'send', room, body: 'stuck', clientId: 'stuck', ref: 'stuck' })
      expect(await socket.next((f) => f.ref === 'stuck', 10_000)).toMatchObject({ type: 'error', code: 'UNAVAILABLE' })
      // Cancelled, not abandoned: no statement of the store still waits for the lock.
      const waiting = await stack.sql`
        select count(*)::int as count from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock' and query like '%for update%'`
      expect(waiting[0].count).toBe(0)
      const sentAt = performance.now()
      for (let i = 0; i < 10; i++) socket.send({ type: 'send', room, body: `q${i}`, clientId: `q${i}`, ref: `q${i}` })
      const answers = await socket.collect((f) => typeof f.ref === 'string' && /^q\d+$/.test(f.ref), 10, 10_000)
      expect(answers.every((f) => f.type === 'error' && f.code === 'UNAVAILABLE')).toBe(true)
      // Answered before any could have waited out a statement_timeout of its own.
      expect(performance.now() - sentAt).toBeLessThan(STATEMENT_TIMEOUT_MS)
    } finally {
      await unlock()
    }
    expect(await resendUntilAcked(socket, { room, body: 'stuck', clientId: 'stuck' })).toMatchObject({ type: 'ack', seq: 1 })
    socket.close()
  })
})

describe('the store queue is bounded', () => {
  test('sends beyond STORE_QUEUE_MAX waiting behind a slow batch are answered UNAVAILABLE at once; the others are stored once it ends', async () => {
    const alice = await person(stack.url)
    const room = await createRoom(stack.url, alice)
    const socket = await connect(stack.instancesOf('chat')[0].url, alice.accessToken)
    const unlock = await lockRoom(room)
    let answersWhileLocked: Frame[]
    try {
      // The first send's batch waits for the lock; the next QUEUE_MAX queue behind it.
      const total = 1 + QUEUE_MAX + 15
      for (let i = 0; i < total; i++) socket.send({ type: 'send', room, body: `m${i}`, clientId: `m${i}`, ref: `m${i}` })
      answersWhileLocked = await socket.collect((f) => typeof f.ref === 'string' && f.ref.startsWith('m'), 15, STATEMENT_TIMEOUT_MS / 2)
    } finally {
      await unlock()
    }
    expect(answersWhileLocked.map((f) => f.code)).toEqual(Array(15).fill('UNAVAILABLE'))
    expect(answersWhileLocked.map((f) => f.ref)).toEqual(Array.from({ length: 15 }, (_, i) => `m${i + 1 + QUEUE_MAX}`))
    const acks = await socket.collect((f) => f.type === 'ack', 1 + QUEUE_MAX, 10_000)
    expect(acks.map((f) => f.clientId)).toEqual(Array.from({ length: 1 + QUEUE_MAX }, (_, i) => `m${i}`))
    const [{ count }] = await stack.sql`select count(*)::int as count from chat.messages where room_id = ${room}`
    expect(count).toBe(1 + QUEUE_MAX)
    socket.close()
  })
})
