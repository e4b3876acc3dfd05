import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import postgres from 'postgres'
import { createRoom, person, type Person } from '../../test/chat-helpers'
import { call } from '../../test/client'
import { startTestStack, type TestStack } from '../../test/harness'
import { startPostgresReplica, type PostgresReplica } from '../../test/postgres-replica'
import { waitUntil } from '../../test/wait'
import { connect, joinRoom, type SocketClient } from '../../test/ws-client'
import { createLogger } from '@chat/common/logger'
import { createReplicaReads } from '../src/replica'

/** Short, so the test sees reads return to a restarted replica quickly. */
const REPLICA_RETRY_MS = 300
/** Short, so a replica that answers nothing is given up on quickly: after twice this (the backstop). */
const REPLICA_STATEMENT_TIMEOUT_MS = 500
/** Long enough for a search right after pausing replay to stay on the replica, short enough to see it give up. */
const SEARCH_MAX_LAG_MS = 3000

let servers: PostgresReplica
let stack: TestStack
/** The stack's database on the replica: what the chat instance reads there. */
let onReplica: postgres.Sql
let alice: Person
let room: string
let sender: SocketClient

beforeAll(async () => {
  servers = await startPostgresReplica()
  // The chat connects to the replica at its first read, so the stack starts while the replica is being made.
  const [started, replica] = await Promise.allSettled([
    startTestStack({
      chat: 1,
      postgres: { url: servers.primaryUrl, replicaUrl: servers.replicaUrl },
      env: {
        DATABASE_REPLICA_RETRY_MS: String(REPLICA_RETRY_MS),
        DATABASE_REPLICA_STATEMENT_TIMEOUT_MS: String(REPLICA_STATEMENT_TIMEOUT_MS),
        DATABASE_REPLICA_SEARCH_MAX_LAG_MS: String(SEARCH_MAX_LAG_MS),
      },
    }),
    servers.replicaStarted,
  ])
  if (started.status === 'fulfilled') stack = started.value
  for (const result of [started, replica]) if (result.status === 'rejected') throw result.reason
  const replicaDatabase = new URL(servers.replicaUrl)
  replicaDatabase.pathname = new URL(stack.databaseUrl).pathname
  onReplica = postgres(replicaDatabase.toString(), { max: 2, onnotice: () => {} })
  alice = await person(stack.url)
  room = await createRoom(stack.url, alice)
  sender = await connect(stack.url, alice.accessToken)
  await joinRoom(sender, room)
})
afterAll(async () => {
  sender?.close()
  await onReplica?.end({ timeout: 1 })
  await stack?.stop()
  await servers?.stop()
})

let sent = 0
/** Sends a message and waits for its ack: it is stored (on the primary) once this returns its seq. */
async function send(body: string): Promise<number> {
  const ref = `r${++sent}`
  sender.send({ type: 'send', room, body, clientId: ref, ref })
  const ack = await sender.next((f) => f.ref === ref)
  expect(ack.type).toBe('ack')
  return ack.seq as number
}

/** The chat instance's count of reads by database and reason (chat_replica_reads_total). */
async function readsOf(source: 'replica' | 'primary', reason: string): Promise<number> {
  const text = await (await fetch(`${stack.instancesOf('chat')[0].url}/chat/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(`chat_replica_reads_total{source="${source}",reason="${reason}"} `))
  return line === undefined ? 0 : Number(line.split(' ')[1])
}

const replicaLastSeq = async () => Number((await onReplica`select last_seq from chat.rooms where id = ${room}`)[0]?.last_seq ?? -1)
const history = async () => (await call(stack.url, 'GET', `/chat/rooms/${room}/messages`, { token: alice.accessToken })).body
const events = async (after: number) => (await call(stack.url, 'GET', `/chat/rooms/${room}/events?after=${after}`, { token: alice.accessToken })).body
const seqs = (items: { seq: number }[]) => items.map((item) => item.seq)

/**
 * Joins with `since` on a fresh socket and returns the seqs replayed up to `upto`. First the
 * sender (joined on the same instance) must have had `upto` live: the room's feed has then
 * delivered it, so the replay is one read up to it, whatever the timing.
 */
async function replay(since: number, upto: number): Promise<number[]> {
  await sender.next((f) => f.type === 'message' && f.seq === upto)
  const reader = await connect(stack.url, alice.accessToken)
  try {
    await joinRoom(reader, room, since)
    await reader.next((f) => f.type === 'message' && f.seq === upto)
    return reader.frames.filter((f) => f.type === 'message' || f.type === 'event').map((f) => f.seq)
  } finally {
    reader.close()
  }
}

describe('reads from a streaming replica', () => {
  test('history, the events page, replay and search are answered by the replica once it holds what the caller may have seen', async () => {
    const first = await send('hello replica')
    const last = await send('second message')
    await waitUntil(async () => (await replicaLastSeq()) >= last, 'the replica has replayed the messages')
    const before = await readsOf('replica', 'current')

    expect(seqs((await history()).items)).toEqual([first, last])
    expect(seqs((await events(0)).items)).toEqual([first, last])
    expect(await replay(0, last)).toEqual([first, last])
    // History, the events page and one replay page: three reads, each answered by the replica.
    expect((await readsOf('replica', 'current')) - before).toBe(3)

    const firstId = (await history()).items[0].id
    expect((await call(stack.url, 'PUT', `/chat/rooms/${room}/messages/${firstId}/reactions/${encodeURIComponent('👍')}`, { token: alice.accessToken })).status).toBe(204)
    const searchesBefore = await readsOf('replica', 'current')
    const found = await call(stack.url, 'GET', `/chat/search?q=replica`, { token: alice.accessToken })
    expect(seqs(found.body.items)).toEqual([first])
    // The reaction of a moment ago is there whatever the replica's lag: what is shown comes from the primary.
    expect(found.body.items[0].reactions).toEqual([{ emoji: '👍', count: 1, me: true }])
    expect((await readsOf('replica', 'current')) - searchesBefore).toBe(1)

    // The replica's own view: the chat instance has connections there that read chat.messages.
    const readers = await onReplica`
      select count(*)::int as n from pg_stat_activity
      where datname = current_database() and pid <> pg_backend_pid() and query like '%from chat.messages%'`
    expect(readers[0].n).toBeGreaterThan(0)
  })

  test('while the replica replays nothing, new messages are still in history, the events page and replay, read from the primary, and search is stale for a bounded time only', async () => {
    const known = await send('before the pause')
    const secret = await send('zebrawords to delete')
    await waitUntil(async () => (await replicaLastSeq()) >= secret, 'the replica has replayed the messages')
    await onReplica`select pg_wal_replay_pause()`
    try {
      await waitUntil(async () => (await onReplica`select pg_get_wal_replay_pause_state() as state`)[0].state === 'paused', 'replay is paused')

      // Search may read the lagging replica, but a message deleted meanwhile is never shown: the primary decides what is shown.
      const [{ id }] = await stack.sql`select id from chat.messages where room_id = ${room} and seq = ${secret}`
      expect((await call(stack.url, 'DELETE', `/chat/rooms/${room}/messages/${id}`, { token: alice.accessToken })).status).toBe(204)
      expect((await onReplica`select body from chat.messages where room_id = ${room} and seq = ${secret}`)[0].body).toBe('zebrawords to delete')
      const searchesBefore = await readsOf('replica', 'current')
      const found = await call(stack.url, 'GET', `/chat/search?q=zebrawords`, { token: alice.accessToken })
      expect(found.status).toBe(200)
      expect(found.body.items).toEqual([])
      expect((await readsOf('replica', 'current')) - searchesBefore).toBe(1)

      const fresh = [await send('lagging 1'), await send('lagging 2'), await send('lagging 3')]
      expect(fresh[0]).toBe(secret + 2)
      expect(await replicaLastSeq()).toBe(secret)
      const behindBefore = await readsOf('primary', 'behind')

      // Never an older page than the caller has seen: every acknowledged message and event is there, in order, gapless.
      expect(seqs((await history()).items).slice(-4)).toEqual([secret, ...fresh])
      expect(seqs((await events(known)).items)).toEqual([secret, secret + 1, ...fresh])
      expect(await replay(known, fresh[2])).toEqual([secret, secret + 1, ...fresh])
      expect((await readsOf('primary', 'behind')) - behindBefore).toBe(3)

      // Once the replica lags by more than the bound, search reads the primary and finds what the replica lacks.
      await waitUntil(
        async () => seqs((await call(stack.url, 'GET', `/chat/search?q=lagging`, { token: alice.accessToken })).body.items).join() === [...fresh].reverse().join(),
        'search finds the messages the paused replica lacks',
      )
      expect((await readsOf('primary', 'behind')) - behindBefore).toBeGreaterThan(3)
    } finally {
      await onReplica`select pg_wal_replay_resume()`
    }

    const currentBefore = await readsOf('replica', 'current')
    await waitUntil(async () => {
      await history()
      return (await readsOf('replica', 'current')) > currentBefore
    }, 'history is read from the replica again')
  })

  test('with the replica down, every read is answered from the primary without an error, and the replica is used again once it is back', async () => {
    const [first, last] = [await send('down 1'), await send('down 2')]
    await servers.stopReplica()
    const unavailableBefore = await readsOf('primary', 'unavailable')

    const page = await call(stack.url, 'GET', `/chat/rooms/${room}/messages?after=${first - 1}`, { token: alice.accessToken })
    expect(page.status).toBe(200)
    expect(seqs(page.body.items)).toEqual([first, last])
    const stream = await call(stack.url, 'GET', `/chat/rooms/${room}/events?after=${first - 1}`, { token: alice.accessToken })
    expect(stream.status).toBe(200)
    expect(seqs(stream.body.items)).toEqual([first, last])
    expect(await replay(first - 1, last)).toEqual([first, last])
    const found = await call(stack.url, 'GET', `/chat/search?q=down`, { token: alice.accessToken })
    expect(found.status).toBe(200)
    expect(seqs(found.body.items)).toEqual([last, first])
    expect((await readsOf('primary', 'unavailable')) - unavailableBefore).toBe(4)

    await servers.startReplica()
    const currentBefore = await readsOf('replica', 'current')
    await waitUntil(async () => {
      expect((await call(stack.url, 'GET', `/chat/rooms/${room}/messages`, { token: alice.accessToken })).status).toBe(200)
      return (await readsOf('replica', 'current')) > currentBefore
    }, 'history is read from the replica again')
  })

  test('a replica that answers nothing holds a read up for its backstop at most, then reads go to the primary until it answers again', async () => {
    const seq = await send('frozen')
    await waitUntil(async () => (await replicaLastSeq()) >= seq, 'the replica has replayed the message')
    const unavailableBefore = await readsOf('primary', 'unavailable')
    servers.freezeReplica()
    try {
      const started = performance.now()
      const page = await call(stack.url, 'GET', `/chat/rooms/${room}/messages?after=${seq - 1}`, { token: alice.accessToken })
      expect(page.status).toBe(200)
      expect(seqs(page.body.items)).toEqual([seq])
      // The backstop is twice the replica's statement timeout; generous margin for a loaded machine.
      expect(performance.now() - started).toBeLessThan(REPLICA_STATEMENT_TIMEOUT_MS * 2 * 4)
      const found = await call(stack.url, 'GET', `/chat/search?q=frozen`, { token: alice.accessToken })
      expect(seqs(found.body.items)).toEqual([seq])
      expect((await readsOf('primary', 'unavailable')) - unavailableBefore).toBe(2)
    } finally {
      servers.thawReplica()
    }
    const currentBefore = await readsOf('replica', 'current')
    await waitUntil(async () => {
      expect((await call(stack.url, 'GET', `/chat/rooms/${room}/messages`, { token: alice.accessToken })).status).toBe(200)
      return (await readsOf('replica', 'current')) > currentBefore
    }, 'history is read from the replica again')
  })

  test('a statement the replica refuses for its data fails as it would on the primary, and the replica stays in use', async () => {
    const primary = postgres(stack.databaseUrl, { max: 1, onnotice: () => {} })
    // A retry period far longer than the test: had the refusal marked the replica down, the next read would go to the primary.
    const reads = createReplicaReads(primary, onReplica, { retryMs: 600_000, statementTimeoutMs: REPLICA_STATEMENT_TIMEOUT_MS, log: createLogger('replica-test', 'error') })
    try {
      await waitUntil(async () => (await reads.withinLag(SEARCH_MAX_LAG_MS, (sql) => sql`select 1`)).fromReplica, 'the replica is current')
      const refused = await reads.withinLag(SEARCH_MAX_LAG_MS, (sql) => sql`select '0000-01-01'::timestamptz`).catch((error) => error)
      expect(refused).toBeInstanceOf(postgres.PostgresError)
      expect((await reads.withinLag(SEARCH_MAX_LAG_MS, (sql) => sql`select 1`)).fromReplica).toBe(true)
    } finally {
      await primary.end({ timeout: 1 })
    }
  })
})
