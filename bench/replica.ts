/**
 * What a read replica costs and saves per read: two chat instances on one throwaway primary
 * with a streaming replica (scripts/postgres-replica.ts), one with DATABASE_REPLICA_URL and
 * one without, answer the same reads of a seeded room. For each read, the latency (directly
 * at the instance, sequential requests) and the statements each server ran per read,
 * counted by pg_stat_statements on both servers. One more row with the replica's replay
 * paused: every read falls back to the primary, which shows what the freshness check costs
 * when it fails.
 *
 *   bun run bench:replica
 *   BENCH_REPLICA_SEED=100000 BENCH_REPLICA_REQUESTS=500 bun run bench:replica
 */
import postgres from 'postgres'
import { call, login, register } from '../scripts/api-client'
import { startPostgresReplica } from '../scripts/postgres-replica'
import { startTestStack } from '../scripts/test-stack'
import { connect } from '../scripts/ws-client'
import { atCleanUp, runBench } from './lifecycle'
import { backgroundLoad, markdownTable, ms, reportHeader } from './report'
import { positiveInt } from './settings'

const SEED = positiveInt('BENCH_REPLICA_SEED', 10_000)
const REQUESTS = positiveInt('BENCH_REPLICA_REQUESTS', 200)
/** Items replayed per join{since}: one page (realtime/room-feed.ts CATCH_UP_PAGE). */
const REPLAY_ITEMS = 500
const CATCH_UP_TIMEOUT_MS = 30_000

const percentile = (values: number[], q: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.ceil(q * values.length) - 1)]

type Read = { name: string; run: (instanceUrl: string) => Promise<void> }

async function main() {
  console.error('bench: starting a primary, its replica and the stack…')
  const servers = await startPostgresReplica({ settings: ['shared_preload_libraries=pg_stat_statements'] })
  atCleanUp(() => servers.stop())
  const stack = await startTestStack({ chat: 1, postgres: { url: servers.primaryUrl, replicaUrl: servers.replicaUrl }, env: { LOG_LEVEL: 'warn' } })
  atCleanUp(() => stack.stop())
  await servers.replicaStarted
  const withReplica = stack.instancesOf('chat')[0]
  // An empty value is no value: this instance reads the primary only.
  const primaryOnly = await stack.startInstance('chat', { env: { DATABASE_REPLICA_URL: '' } })
  const replicaDatabase = new URL(servers.replicaUrl)
  replicaDatabase.pathname = new URL(stack.databaseUrl).pathname
  const onReplica = postgres(replicaDatabase.toString(), { max: 1, onnotice: () => {} })
  atCleanUp(() => onReplica.end({ timeout: 1 }))
  await stack.sql`create extension if not exists pg_stat_statements`

  const account = await register(stack.url)
  const { accessToken } = await login(stack.url, account)
  const room = (await call(stack.url, 'POST', '/chat/rooms', { token: accessToken, body: { name: `replica ${Date.now()}` } })).body.id as string
  console.error(`bench: seeding ${SEED} messages…`)
  await stack.sql`
    insert into chat.messages (room_id, seq, id, sender_id, body, client_id)
    select ${room}, s, gen_random_uuid(), ${account.id}, 'seeded message number ' || s, 'seed-' || s
    from generate_series(1, ${SEED}::bigint) as s`
  await stack.sql`update chat.rooms set last_seq = ${SEED} where id = ${room}`
  await stack.sql`analyze chat.messages`
  const replicaSeq = async () => Number((await onReplica`select last_seq from chat.rooms where id = ${room}`)[0]?.last_seq ?? -1)
  const deadline = Date.now() + CATCH_UP_TIMEOUT_MS
  while ((await replicaSeq()) < SEED) {
    if (Date.now() > deadline) throw new Error('bench: the replica did not catch up')
    await Bun.sleep(50)
  }

  const get = async (instanceUrl: string, path: string) => {
    const answer = await call(instanceUrl, 'GET', path, { token: accessToken })
    if (answer.status !== 200) throw new Error(`bench: GET ${path} answered ${answer.status}`)
  }
  const reads: Read[] = [
    { name: 'GET …/messages, newest 50', run: (url) => get(url, `/chat/rooms/${room}/messages`) },
    { name: `GET …/events?after=${SEED / 2}, 100`, run: (url) => get(url, `/chat/rooms/${room}/events?after=${SEED / 2}`) },
    { name: 'GET /chat/search?q=number, 20', run: (url) => get(url, `/chat/search?q=number`) },
    {
      name: `join{since} replay of ${REPLAY_ITEMS}`,
      run: async (url) => {
        const socket = await connect(url, accessToken)
        socket.send({ type: 'join', room, since: SEED - REPLAY_ITEMS, ref: 'j' })
        await socket.next((f) => f.type === 'message' && f.seq === SEED, 10_000)
        socket.close()
        await socket.closed
      },
    },
  ]

  /** Statements the chat's pools ran on each server since the last reset (not this bench's own). */
  const statements = async () => {
    const count = (sql: postgres.Sql) =>
      sql<{ n: number }[]>`
        select coalesce(sum(calls), 0)::int as n from pg_stat_statements
        where dbid = (select oid from pg_database where datname = current_database())
          and query not like '%pg_stat_statements%' and query not like '%pg_wal_replay%'`
    const [[primary], [replica]] = await Promise.all([count(stack.sql), count(onReplica)])
    return { primary: primary.n, replica: replica.n }
  }
  const reset = () => Promise.all([stack.sql`select pg_stat_statements_reset()`, onReplica`select pg_stat_statements_reset()`])

  const rows: string[][] = []
  const measure = async (read: Read, instance: string, url: string, requests: number) => {
    await read.run(url) // warm: connections and prepared statements
    await reset()
    const times: number[] = []
    for (let i = 0; i < requests; i++) {
      const t0 = performance.now()
      await read.run(url)
      times.push(performance.now() - t0)
    }
    const counted = await statements()
    const per = (n: number) => (n / requests).toFixed(2)
    rows.push([read.name, instance, ms(percentile(times, 0.5)), ms(percentile(times, 0.95)), per(counted.primary), per(counted.replica)])
  }

  for (const read of reads) {
    const requests = read.name.startsWith('join') ? Math.max(1, Math.floor(REQUESTS / 5)) : REQUESTS
    await measure(read, 'primary only', primaryOnly.url, requests)
    await measure(read, 'with replica, current', withReplica.url, requests)
  }
  // Replay paused and one more message: the replica is behind the room for every read.
  await onReplica`select pg_wal_replay_pause()`
  await stack.sql`update chat.rooms set last_seq = last_seq + 1 where id = ${room}`
  try {
    await measure(reads[0], 'with replica, behind', withReplica.url, REQUESTS)
  } finally {
    await onReplica`select pg_wal_replay_resume()`
  }

  console.log(
    [
      ...reportHeader({
        software: `Bun ${Bun.version}, PostgreSQL ${(await stack.sql`show server_version`)[0].server_version} (primary and streaming replica on this machine)`,
        load: `${SEED} messages in one room; ${REQUESTS} sequential requests per row (replay: ${Math.max(1, Math.floor(REQUESTS / 5))}), straight to the instance`,
        background: await backgroundLoad(),
      }),
      ...markdownTable(['read', 'instance', 'p50 ms', 'p95 ms', 'primary statements / read', 'replica statements / read'], rows),
    ].join('\n'),
  )
}

await runBench(main)
