import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestStack, type TestStack } from '../../test/harness'
import { createRoom, openSocketsAtOnce, person, range } from '../../test/chat-helpers'
import { expectNever } from '../../test/wait'
import { call, sleep } from '../../test/client'
import { connect, joinRoom, type Frame } from '../../test/ws-client'
import { createClient } from 'redis'

let stack: TestStack
beforeAll(async () => {
  stack = await startTestStack({ chat: 2 })
})
afterAll(() => stack?.stop())

/** Drops this stack's pub/sub connections (only those on its Redis DB), as a network blip would; node-redis reconnects them. */
async function dropSubscriberConnections(redisUrl: string): Promise<number> {
  const redis = createClient({ url: redisUrl })
  await redis.connect()
  try {
    const db = Number(new URL(redisUrl).pathname.slice(1) || 0)
    const list = String(await redis.sendCommand(['CLIENT', 'LIST', 'TYPE', 'pubsub']))
    const ids = list.split('\n').flatMap((line) => {
      const fields = new Map(line.split(' ').map((field) => field.split('=') as [string, string]))
      return fields.get('db') === String(db) ? [fields.get('id')!] : []
    })
    for (const id of ids) await redis.sendCommand(['CLIENT', 'KILL', 'ID', id])
    return ids.length
  } finally {
    await redis.quit()
  }
}

const isLeftNotice = (room: string) => (f: Frame) => f.type === 'left' && f.room === room && f.reason !== undefined

describe('membership is checked where it is used, not remembered', () => {
  test('a user who leaves over REST is told on every socket of every instance, and can then neither send, join nor receive', async () => {
    const [one, two] = stack.instancesOf('chat')
    const [alice, bob, carol] = [await person(stack.url), await person(stack.url), await person(stack.url)]
    const room = await createRoom(stack.url, alice, [bob, carol])
    const a = await connect(one.url, alice.accessToken)
    await joinRoom(a, room)
    const c = await connect(two.url, carol.accessToken)
    await joinRoom(c, room)
    const joined = await connect(one.url, bob.accessToken)
    await joinRoom(joined, room)
    // Never joined: it sends only, which is exactly what the old membership cache let through.
    const notJoined = await connect(two.url, bob.accessToken)
    notJoined.send({ type: 'send', room, body: 'before', clientId: 'before', ref: 'before' })
    // Seqs 1 and 2 are the `member` events of Bob's and Carol's joins.
    expect(await notJoined.next((f) => f.ref === 'before')).toMatchObject({ type: 'ack', seq: 3 })

    const leftAt = performance.now()
    expect((await call(stack.url, 'POST', `/chat/rooms/${room}/leave`, { token: bob.accessToken })).status).toBe(204)
    for (const socket of [joined, notJoined]) {
      expect(await socket.next(isLeftNotice(room), 1000)).toEqual({ type: 'left', room, reason: 'left' })
    }
    expect(performance.now() - leftAt).toBeLessThan(1000)

    for (const [i, socket] of [joined, notJoined].entries()) {
      socket.send({ type: 'send', room, body: 'after', clientId: `after-${i}`, ref: `after-${i}` })
      expect(await socket.next((f) => f.ref === `after-${i}`)).toMatchObject({ type: 'error', code: 'NOT_A_MEMBER' })
      socket.send({ type: 'join', room, since: 0, ref: `rejoin-${i}` })
      expect(await socket.next((f) => f.ref === `rejoin-${i}`)).toMatchObject({ type: 'error', code: 'NOT_A_MEMBER' })
    }
    const [{ count }] = await stack.sql`select count(*)::int as count from chat.messages where room_id = ${room} and client_id like 'after-%'`
    expect(count).toBe(0)

    a.send({ type: 'send', room, body: 'after bob left', clientId: 'secret', ref: 'secret' })
    // Seq 4 is the `member` event of Bob's leave.
    expect(await a.next((f) => f.ref === 'secret')).toMatchObject({ type: 'ack', seq: 5 })
    // Carol is on the other instance: once she has it, every instance has delivered it.
    await c.next((f) => f.type === 'message' && f.clientId === 'secret')
    await a.next((f) => f.type === 'message' && f.clientId === 'secret')
    for (const socket of [joined, notJoined]) expect(socket.frames.some((f) => f.type === 'message' && f.clientId === 'secret')).toBe(false)
    for (const socket of [a, c, joined, notJoined]) socket.close()
  })

  test('a user sending continuously while leaving: every acked message is stored, none after the leave, and seqs have no gap', async () => {
    const [alice, bob] = [await person(stack.url), await person(stack.url)]
    const room = await createRoom(stack.url, alice, [bob])
    const [one, two] = stack.instancesOf('chat')
    const b = await connect(one.url, bob.accessToken)
    const a = await connect(two.url, alice.accessToken)
    const answered = (f: Frame) => typeof f.ref === 'string' && f.ref.startsWith('race-')
    let sent = 0
    let leaving: Promise<unknown> | null = null
    /** Sends made after the leave was answered: each must be refused. */
    let sentAfterLeft: number | null = null
    // Below the send bucket's burst, so no send is refused for its rate.
    while (sent < 500) {
      b.send({ type: 'send', room, body: `n${sent}`, clientId: `race-${sent}`, ref: `race-${sent}` })
      sent++
      if (sentAfterLeft !== null) sentAfterLeft++
      // Once something was stored, so that the leave lands in the middle of the stream, not before it.
      if (leaving === null && sent >= 50 && b.frames.some((f) => answered(f) && f.type === 'ack')) {
        leaving = call(stack.url, 'POST', `/chat/rooms/${room}/leave`, { token: bob.accessToken }).finally(() => (sentAfterLeft = 0))
      }
      // The store may keep up with the sends: the stream goes on until the leave has surely taken effect.
      if ((sentAfterLeft ?? 0) >= 10 || (b.frames.some((f) => answered(f) && f.code === 'NOT_A_MEMBER') && sent % 20 === 0)) break
      if (leaving !== null || sent % 5 === 0) await sleep(1)
    }
    expect((await leaving!) as { status: number }).toMatchObject({ status: 204 })
    const answers = await b.collect(answered, sent, 20_000)
    a.send({ type: 'send', room, body: 'after the leave', clientId: 'marker', ref: 'marker' })
    const marker = await a.next((f) => f.ref === 'marker')
    expect(marker.type).toBe('ack')

    const acked = answers.filter((f) => f.type === 'ack')
    const firstRefused = answers.findIndex((f) => f.code === 'NOT_A_MEMBER')
    expect(firstRefused).toBeGreaterThan(0)
    // Once refused, every later send of the socket is refused too: nothing slips in behind the leave.
    expect(answers.slice(firstRefused).every((f) => f.type === 'error' && f.code === 'NOT_A_MEMBER')).toBe(true)
    const rows = await stack.sql<{ seq: string; client_id: string; sender_id: string }[]>`
      select seq, client_id, sender_id from chat.messages where room_id = ${room} order by seq`
    // Messages and the membership events between them share the room's one gapless sequence.
    const [{ seqs }] = await stack.sql`
      select array_agg(seq::int order by seq) as seqs from (select seq from chat.messages where room_id = ${room} union all select seq from chat.events where room_id = ${room}) s`
    expect(seqs).toEqual(range(1, seqs.length))
    const stored = new Map(rows.map((r) => [r.client_id, Number(r.seq)]))
    for (const ack of acked) expect(stored.get(ack.clientId)).toBe(ack.seq)
    const bobs = rows.filter((r) => r.sender_id === bob.userId)
    expect(bobs).toHaveLength(acked.length)
    expect(Math.max(...bobs.map((r) => Number(r.seq)))).toBeLessThan(marker.seq)
    a.close()
    b.close()
  })
})

describe('membership ending during a join', () => {
  test('a membership that ends while a join replays history stops the socket for good: left, then nothing more', async () => {
    const [alice, bob] = [await person(stack.url), await person(stack.url)]
    const room = await createRoom(stack.url, alice, [bob])
    // A long history, so the replay is likely still running when the leave lands.
    const history = 3000
    await stack.sql`
      insert into chat.messages (room_id, seq, id, sender_id, body, client_id)
      select ${room}, n, gen_random_uuid(), ${alice.userId}, 'old ' || n, 'old-' || n from generate_series(1, ${history}) as n`
    await stack.sql`update chat.rooms set last_seq = ${history} where id = ${room}`
    // One instance, whose delivery to its sockets is one synchronous publish: once Alice has
    // a message, Bob's socket would have had it queued before any later frame.
    const instance = stack.instancesOf('chat')[0].url
    const a = await connect(instance, alice.accessToken)
    await joinRoom(a, room)
    const b = await connect(instance, bob.accessToken)
    b.send({ type: 'join', room, since: 0, ref: 'replay' })
    await b.next((f) => f.type === 'message')
    expect((await call(stack.url, 'POST', `/chat/rooms/${room}/leave`, { token: bob.accessToken })).status).toBe(204)
    expect(await b.next(isLeftNotice(room), 10_000)).toEqual({ type: 'left', room, reason: 'left' })

    a.send({ type: 'send', room, body: 'after', clientId: 'after', ref: 'after' })
    await a.next((f) => f.type === 'message' && f.clientId === 'after')
    b.send({ type: 'typing', room, ref: 'typing' })
    // The room is not joined any more on this socket.
    expect(await b.next((f) => f.ref === 'typing')).toMatchObject({ type: 'error', code: 'NOT_JOINED' })
    expect(b.frames.some((f) => f.type === 'message' && f.clientId === 'after')).toBe(false)
    a.close()
    b.close()
  })
})

describe('membership notices survive a broker blip', () => {
  test('a membership that ended while no notice arrived is caught up from Postgres once the broker reconnects', async () => {
    const [alice, bob] = [await person(stack.url), await person(stack.url)]
    const room = await createRoom(stack.url, alice, [bob])
    const b = await connect(stack.instancesOf('chat')[0].url, bob.accessToken)
    await joinRoom(b, room)
    // Ended behind the brokers' back, exactly as if its notice had been lost.
    await stack.sql`delete from chat.members where room_id = ${room} and user_id = ${bob.userId}`
    expect(await dropSubscriberConnections(stack.redisUrl)).toBeGreaterThan(0)
    expect(await b.next(isLeftNotice(room), 10_000)).toEqual({ type: 'left', room, reason: 'left' })
    b.close()
  })

  test('a membership that ended with no notice at all (a publish that failed) is found by the periodic re-check', async () => {
    const instance = await stack.startInstance('chat', { env: { MEMBERSHIP_RECHECK_INTERVAL_MS: '500' } })
    const [alice, bob] = [await person(stack.url), await person(stack.url)]
    const room = await createRoom(stack.url, alice, [bob])
    const b = await connect(instance.url, bob.accessToken)
    await joinRoom(b, room)
    await stack.sql`insert into chat.bans (room_id, user_id, reason, banned_by) values (${room}, ${bob.userId}, 'no notice', ${alice.userId})`
    await stack.sql`delete from chat.members where room_id = ${room} and user_id = ${bob.userId}`
    expect(await b.next(isLeftNotice(room), 5_000)).toEqual({ type: 'left', room, reason: 'banned' })
    // Once: the next re-checks find the room no longer joined here.
    await expectNever(() => b.frames.filter(isLeftNotice(room)).length > 1, { message: 'a second left notice', forMs: 1200 })
    b.close()
    await stack.kill(instance, 'SIGTERM')
  })
})

describe('per-user socket limit', () => {
  test('60 sockets of one user opened at once, half on each instance: exactly 20 get ready, the others close with 4429 before ready', async () => {
    const alice = await person(stack.url)
    const urls = stack.instancesOf('chat').map((instance) => instance.url)
    const outcomes = await openSocketsAtOnce(urls, alice.accessToken, 60)
    expect(outcomes.filter((o) => o === 'ready')).toHaveLength(20)
    expect(outcomes.filter((o) => o === 4429)).toHaveLength(40)
  })
})
