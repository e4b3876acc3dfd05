/**
 * Replay of a room's stream after a reconnect, on a seeded room: `join{since}` for the last
 * BENCH_REPLAY_ITEMS items (messages and events, 1 message in 10 by default, the rest
 * edits and reactions), measured from sending `join` to the last replayed frame, on a room
 * whose tables hold BENCH_REPLAY_SEED rows before them, so the reads must go by index. Also
 * times the REST reads of the same room: a history page (with reactions) and a page of
 * `GET /events`.
 *
 *   bun run bench:replay
 *   BENCH_REPLAY_SEED=1000000 BENCH_REPLAY_ITEMS=10000 BENCH_REPLAY_RUNS=5 bun run bench:replay
 *
 * Target (issue 9): 10,000 items replayed in under 1 s.
 */
import { call, login, register } from '../scripts/api-client'
import { startTestStack } from '../scripts/test-stack'
import { connect } from '../scripts/ws-client'
import { runBench } from './lifecycle'
import { markdownTable, ms, reportHeader, backgroundLoad } from './report'
import { positiveInt } from './settings'

const SEED = positiveInt('BENCH_REPLAY_SEED', 1_000_000, { allowZero: true })
const ITEMS = positiveInt('BENCH_REPLAY_ITEMS', 10_000)
const RUNS = positiveInt('BENCH_REPLAY_RUNS', 5)
/** In the replayed tail, one item in this many is a message; the others are events. */
const MESSAGE_EVERY = 10
const REPLAY_TIMEOUT_MS = 60_000
const REST_SAMPLES = 20

const percentile = (values: number[], q: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.ceil(q * values.length) - 1)]

/**
 * Rows straight into the tables, the way the store and appendEvents lay them out: seq
 * 1..count in the room, messages where `seq % MESSAGE_EVERY = 1`, the rest events
 * (edits of the message before them, and reactions), then last_seq moved past them.
 */
async function seed(sql: Awaited<ReturnType<typeof startTestStack>>['sql'], room: string, userId: string, from: number, count: number) {
  const to = from + count - 1
  await sql`
    insert into chat.messages (room_id, seq, id, sender_id, body, client_id)
    select ${room}, s, gen_random_uuid(), ${userId}, 'seeded message ' || s, 'seed-' || s
    from generate_series(${from}::bigint, ${to}::bigint) as s where s % ${MESSAGE_EVERY} = 1`
  await sql`
    insert into chat.events (room_id, seq, kind, actor_id, target, data)
    select ${room}, s, case when s % 2 = 0 then 'edit' else 'reaction' end, ${userId}, m.id,
      case when s % 2 = 0 then jsonb_build_object('body', 'edited ' || s) else jsonb_build_object('emoji', '👍', 'added', true) end
    from generate_series(${from}::bigint, ${to}::bigint) as s
    join chat.messages m on m.room_id = ${room} and m.seq = s - (s - 1) % ${MESSAGE_EVERY}
    where s % ${MESSAGE_EVERY} <> 1`
  await sql`update chat.rooms set last_seq = ${to} where id = ${room}`
}

async function main() {
  console.error('bench: starting the stack (one chat instance)…')
  const stack = await startTestStack({ chat: 1, env: { LOG_LEVEL: 'warn' } })
  try {
    const account = await register(stack.url)
    const { accessToken } = await login(stack.url, account)
    const room = (await call(stack.url, 'POST', '/chat/rooms', { token: accessToken, body: { name: `replay ${Date.now()}` } })).body.id as string
    const started = performance.now()
    console.error(`bench: seeding ${SEED + ITEMS} rows…`)
    await seed(stack.sql, room, account.id, 1, SEED + ITEMS)
    await stack.sql`analyze chat.messages`
    await stack.sql`analyze chat.events`
    console.error(`bench: seeded in ${((performance.now() - started) / 1000).toFixed(1)} s`)
    const since = SEED
    const chat = stack.instancesOf('chat')[0]

    const replays: number[] = []
    for (let run = 0; run < RUNS; run++) {
      const socket = await connect(chat.url, accessToken)
      // The test client's collect() rescans every frame on each arrival; here each frame is parsed and checked once.
      let expected = since + 1
      let gap = false
      const done = Promise.withResolvers<void>()
      socket.ws.onmessage = (event) => {
        const frame = JSON.parse(String(event.data))
        if (frame.type !== 'message' && frame.type !== 'event') return
        if (frame.seq !== expected) gap = true
        if (expected++ === since + ITEMS) done.resolve()
      }
      const t0 = performance.now()
      socket.send({ type: 'join', room, since, ref: 'j' })
      const timer = setTimeout(() => done.reject(new Error(`bench: replay not complete after ${REPLAY_TIMEOUT_MS} ms`)), REPLAY_TIMEOUT_MS)
      await done.promise
      clearTimeout(timer)
      replays.push(performance.now() - t0)
      if (gap) throw new Error('bench: the replay was not gapless and in order')
      socket.close()
      await socket.closed
    }

    const timeRest = async (path: string) => {
      const times: number[] = []
      for (let i = 0; i < REST_SAMPLES; i++) {
        const t0 = performance.now()
        const answer = await call(chat.url, 'GET', path, { token: accessToken })
        times.push(performance.now() - t0)
        if (answer.status !== 200) throw new Error(`bench: GET ${path} answered ${answer.status}`)
      }
      return times
    }
    const history = await timeRest(`/chat/rooms/${room}/messages?limit=100`)
    const middle = await timeRest(`/chat/rooms/${room}/messages?before=${Math.floor(SEED / 2)}&limit=100`)
    const events = await timeRest(`/chat/rooms/${room}/events?after=${Math.floor(SEED / 2)}&limit=500`)

    const lines = [
      ...reportHeader({ software: `Bun ${Bun.version}`, load: `${SEED + ITEMS} rows in one room (1 message in ${MESSAGE_EVERY})`, background: await backgroundLoad() }),
      ...markdownTable(
        ['what', 'runs', 'p50 ms', 'max ms'],
        [
          [`join{since} replay of ${ITEMS} items after ${SEED} (reconnect to last frame)`, String(RUNS), ms(percentile(replays, 0.5)), ms(Math.max(...replays))],
          ['GET …/messages, newest 100 (with reactions)', String(REST_SAMPLES), ms(percentile(history, 0.5)), ms(Math.max(...history))],
          ['GET …/messages?before=middle, 100', String(REST_SAMPLES), ms(percentile(middle, 0.5)), ms(Math.max(...middle))],
          ['GET …/events?after=middle, 500', String(REST_SAMPLES), ms(percentile(events, 0.5)), ms(Math.max(...events))],
        ],
      ),
    ]
    console.log(lines.join('\n'))
  } finally {
    await stack.stop()
  }
}

await runBench(main)
