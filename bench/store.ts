/**
 * What one stored message costs Postgres, without the rest of the stack: the message store
 * (chat/src/messages/store.ts) writes single messages one after another into one room of a
 * scratch database, the way a lightly loaded instance does (one message per commit), and
 * the bench reports the commit latency and the Postgres backend's CPU per message (from
 * /proc). Beside it, the baseline: a bare INSERT of the same row into the same table (same
 * indexes and search column), committed alone, which is what storing costs without the
 * store's guarantees (idempotent clientId, membership checked under the room lock, gapless
 * seq).
 *
 *   bun run bench:store                  2,000 messages per mode
 *   BENCH_STORE_MESSAGES=5000 bun run bench:store
 *
 * Runs against DATABASE_URL's server (the machine's Postgres by default) in a database of
 * its own, dropped at the end. CPU comes from /proc, so the server must run on this host.
 */
import { join } from 'node:path'
import postgres from 'postgres'
import { BaseConfig } from '@chat/common/config'
import { createDb } from '@chat/common/db'
import { createLogger } from '@chat/common/logger'
import { migrate } from '@chat/common/migrate'
import { createMessageStore } from '../chat/src/messages/store'
import { REPO_ROOT } from '../scripts/stack'
import { cpuSecondsOf } from './cpu'
import { markdownTable, ms } from './report'
import { quantile } from './scale-model'
import { positiveInt } from './settings'

const MESSAGES = positiveInt('BENCH_STORE_MESSAGES', 2000)
const WARMUP = 200
const BODY = 'the quick brown fox jumps over the lazy dog while the chat backend stores every message it acknowledges, '.slice(0, 100)
const SETTINGS = { STORE_BATCH_MAX: 500, STORE_QUEUE_MAX: 10_000, STORE_STATEMENT_TIMEOUT_MS: 5000, STORE_FAILURE_BACKOFF_MS: 1000 }

const serverUrl = process.env.DATABASE_URL || BaseConfig.properties.DATABASE_URL.default
const database = `chat_store_bench_${process.pid}`

/** User + system CPU seconds of the Postgres backends serving `sql`'s connections. */
async function backendCpuSeconds(sql: postgres.Sql): Promise<number> {
  const rows = await sql<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${database}`
  return cpuSecondsOf(rows.map((row) => row.pid))
}

type Mode = 'store' | 'insert'
const MODE_NAMES: Record<Mode, string> = { store: 'message store (as chat runs it)', insert: 'baseline: bare INSERT, autocommit' }

async function runMode(databaseUrl: string, mode: Mode) {
  const sql = createDb(databaseUrl, { max: 1, customPlans: true })
  const roomId = crypto.randomUUID()
  const senderId = crypto.randomUUID()
  await sql`insert into chat.rooms (id, name) values (${roomId}, 'bench')`
  await sql`insert into chat.members (room_id, user_id) values (${roomId}, ${senderId})`
  const store = createMessageStore(sql, createLogger('bench', 'warn'), SETTINGS, () => {})
  const send = async (n: number) => {
    const body = `${n} ${BODY}`
    if (mode === 'insert') {
      await sql`insert into chat.messages (room_id, seq, id, sender_id, body, client_id) values (${roomId}, ${n + 1}, ${crypto.randomUUID()}, ${senderId}, ${body}, ${String(n)})`
      return
    }
    const result = await store.store({ roomId, senderId, body, clientId: String(n) })
    if (!result.ok) throw new Error(`store refused: ${result.reason}`)
  }
  for (let n = 0; n < WARMUP; n++) await send(n)
  const latencies: number[] = []
  const cpuBefore = await backendCpuSeconds(sql)
  const started = performance.now()
  for (let n = WARMUP; n < WARMUP + MESSAGES; n++) {
    const at = performance.now()
    await send(n)
    latencies.push(performance.now() - at)
  }
  const wall = (performance.now() - started) / 1000
  const cpu = (await backendCpuSeconds(sql)) - cpuBefore
  await sql.end()
  latencies.sort((a, b) => a - b)
  return { mode: MODE_NAMES[mode], p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), perSecond: MESSAGES / wall, cpuMicros: (cpu / MESSAGES) * 1e6 }
}

async function main() {
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${database}`)
  const url = new URL(serverUrl)
  url.pathname = `/${database}`
  try {
    const sql = createDb(url.toString(), { max: 1 })
    await migrate(sql, 'chat', join(REPO_ROOT, 'chat', 'migrations'))
    await sql.end()
    const rows = []
    for (const mode of ['store', 'insert', 'store', 'insert'] as const) rows.push(await runMode(url.toString(), mode))
    console.log(`One message per commit, ${MESSAGES} messages of ${BODY.length + 5} characters per run, one room, sequential, each writer into a room of its own.\n`)
    console.log(
      markdownTable(
        ['writer', 'commit p50 ms', 'commit p99 ms', 'messages/s', 'Postgres CPU µs/message'],
        rows.map((r) => [r.mode, ms(r.p50), ms(r.p99), Math.round(r.perSecond).toLocaleString('en-US'), Math.round(r.cpuMicros).toLocaleString('en-US')]),
      ).join('\n'),
    )
  } finally {
    await admin.unsafe(`drop database if exists ${database} with (force)`)
    await admin.end()
  }
}

await main()
