/**
 * The scaling curve: the same load on 1, 2 and 3 chat instances, first on one Redis, then
 * on a Redis Cluster (three masters, sharded pub/sub), and the unit costs the capacity
 * model in docs/SCALING.md scales: a Redis shard's CPU per PUBLISH/SPUBLISH, and Postgres
 * messages per second through the chat's group-commit store.
 *
 * Load: BENCH_ROOMS rooms, each with BENCH_SENDERS_PER_ROOM senders (not joined) and
 * BENCH_RECEIVERS_PER_ROOM receivers (joined), every socket connected straight to an
 * instance (no Caddy), a room's sockets spread round-robin over the row's N instances. Each
 * sender keeps BENCH_WINDOW sends in flight (flat out: the row measures what the machine
 * gives, and CPU per delivery is what carries over to other machines).
 *
 *   bun run bench:scale                                about 3 minutes
 *   BENCH_SECONDS=10 bun run bench:scale               longer rows
 *   BENCH_MODES=single bun run bench:scale             only the single-Redis curve
 *
 * Settings (environment): BENCH_SECONDS (5, measured per row), BENCH_WARMUP_SECONDS (2),
 * BENCH_INSTANCES (3: rows for 1..this many), BENCH_MODES (single,cluster),
 * BENCH_ROOMS (4), BENCH_SENDERS_PER_ROOM (3), BENCH_RECEIVERS_PER_ROOM (12),
 * BENCH_WINDOW (32), BENCH_BODY_CHARS (100), BENCH_SHARD_PUBLISHES (300000, per Redis row),
 * BENCH_STORE_SECONDS (3, per Postgres row).
 */
import { cpus } from 'node:os'
import { createDb } from '@chat/common/db'
import { createLogger } from '@chat/common/logger'
import { ChatConfig } from '../chat/src/config'
import { createMessageStore, type NewMessage } from '../chat/src/messages/store'
import { call, login, register, type Account } from '../scripts/api-client'
import { spawnChild } from '../scripts/child'
import { canConnect, findFreePorts, waitFor } from '../scripts/net'
import { startTestStack, type TestStack } from '../scripts/test-stack'
import { connect, joinRoom, type Frame, type SocketClient } from '../scripts/ws-client'
import { startRedisCluster, type RedisCluster } from '../test/redis-cluster'
import { databaseBackends, measureCpu, type Component, type CpuUsage } from './cpu'
import { atCleanUp, inChunks, runBench, workDir } from './lifecycle'
import { backgroundLoad, busyCores, disturbedMark, disturbedNote, markdownTable, ms, percent, reportHeader, restCores, versionOf } from './report'
import { commitCost, curveFigures, quantile, shardCost } from './scale-model'
import { CONNECT_CONCURRENCY, DRAIN_POLL_MS, DRAIN_TIMEOUT_MS, positiveInt, PREPARE_CONCURRENCY, SETTLE_MS, UNLIMITED_SENDS, WARMUP_SECONDS } from './settings'

/** Shorter than the other benches' 10 s: six rows plus two stacks must fit in about three minutes. */
const SECONDS = positiveInt('BENCH_SECONDS', 5)
const MAX_INSTANCES = positiveInt('BENCH_INSTANCES', 3)
const ROOMS = positiveInt('BENCH_ROOMS', 4)
const SENDERS_PER_ROOM = positiveInt('BENCH_SENDERS_PER_ROOM', 3)
const RECEIVERS_PER_ROOM = positiveInt('BENCH_RECEIVERS_PER_ROOM', 12)
const WINDOW = positiveInt('BENCH_WINDOW', 32)
const BODY_CHARS = positiveInt('BENCH_BODY_CHARS', 100)
const SHARD_PUBLISHES = positiveInt('BENCH_SHARD_PUBLISHES', 300_000)
const STORE_SECONDS = positiveInt('BENCH_STORE_SECONDS', 3)
const MODES = (process.env.BENCH_MODES ?? 'single,cluster').split(',').map((mode) => mode.trim()).filter(Boolean)
for (const mode of MODES) {
  if (mode !== 'single' && mode !== 'cluster') {
    console.error(`bench: BENCH_MODES takes single and/or cluster (got ${JSON.stringify(mode)})`)
    process.exit(1)
  }
}
type Mode = 'single' | 'cluster'

/**
 * Before each row's sends: the chat processes' CPU with every socket open and nothing sent
 * (timers, presence heartbeats, GC), subtracted from the row's for the net figure. Under
 * outside load a row's throughput falls and that fixed cost would otherwise pass for cost
 * per delivery.
 */
const IDLE_SAMPLE_MS = 1500
const REDIS_READY_TIMEOUT_MS = 10_000
/** Redis cluster masters for the cluster rows (each with a replica, as in production). */
const CLUSTER_MASTERS = 3
/** A chat room event on the wire is a JSON message of about this size; the shard rows publish the same. */
const SHARD_PAYLOAD_BYTES = 300
/** redis-benchmark's connections and pipeline depth in the shard rows (as a few busy chat instances would send). */
const SHARD_CONNECTIONS = 4
const SHARD_PIPELINE = 16
const SHARD_SUBSCRIBER_COUNTS = [1, 3] as const
/**
 * The store rows: store instances (one per chat instance) × sends in flight per store. One
 * in flight is a commit per message; thousands fill batches towards STORE_BATCH_MAX (500).
 */
const STORE_ROWS = [
  { stores: 1, inFlight: 1 },
  { stores: 1, inFlight: 2000 },
  { stores: 3, inFlight: 1000 },
] as const

type Tokened = Account & { accessToken: string }

/** `stop` at most once: called when a stack is done with, and again (a no-op) at clean-up. */
function once(stop: () => Promise<void>): () => Promise<void> {
  let stopping: Promise<void> | null = null
  return () => (stopping ??= stop())
}

/** Starts a private redis-server (no persistence), so its CPU is this bench's alone. */
async function startPrivateRedis(): Promise<{ url: string; port: number; pid: number }> {
  const [port] = await findFreePorts(1)
  const child = spawnChild({
    name: 'redis-private',
    cwd: workDir(),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    output: { kind: 'files', dir: workDir() },
    cmd: ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', workDir(),
      // The shard rows' subscribers may fall behind for a moment: never disconnect them for it.
      '--client-output-buffer-limit', 'pubsub 0 0 0'],
  })
  atCleanUp(() => child.stop())
  if (!(await waitFor(() => canConnect('127.0.0.1', port), { timeoutMs: REDIS_READY_TIMEOUT_MS, stop: child.proc.exited }))) {
    throw new Error(`redis-server did not listen on ${port}\n${child.tail().join('\n')}`)
  }
  return { url: `redis://127.0.0.1:${port}`, port, pid: child.proc.pid }
}

// ---------------------------------------------------------------------------------------
// Redis shard: CPU per publish with k subscribers

type ShardRow = { command: 'PUBLISH' | 'SPUBLISH'; subscribers: number; publishes: number; seconds: number; redisSeconds: number }

/**
 * One Redis row: `subscribers` redis-cli processes subscribed to one channel (output to
 * /dev/null, so they read as fast as C can) and redis-benchmark publishing SHARD_PUBLISHES
 * messages to it, pipelined. Both are C, so Redis rather than a Bun client is what runs
 * out first; its CPU is counted until it is idle again, i.e. until every subscriber got
 * everything.
 */
async function measureShard(port: number, pid: number, command: ShardRow['command'], subscribers: number): Promise<ShardRow> {
  const channel = `bench-scale:${command}:${subscribers}`
  const subscribe = command === 'PUBLISH' ? 'SUBSCRIBE' : 'SSUBSCRIBE'
  const cli = (...args: string[]) => Bun.spawn(['redis-cli', '-h', '127.0.0.1', '-p', String(port), ...args], { stdout: 'pipe', stderr: 'pipe' })
  const listeners = Array.from({ length: subscribers }, () =>
    Bun.spawn(['redis-cli', '-h', '127.0.0.1', '-p', String(port), subscribe, channel], { stdout: 'ignore', stderr: 'ignore' }),
  )
  const stopListeners = () => Promise.all(listeners.map((proc) => (proc.kill('SIGKILL'), proc.exited)))
  atCleanUp(stopListeners)
  try {
    const numsub = command === 'PUBLISH' ? ['PUBSUB', 'NUMSUB', channel] : ['PUBSUB', 'SHARDNUMSUB', channel]
    const subscribed = await waitFor(
      async () => {
        const proc = cli(...numsub)
        const out = await new Response(proc.stdout).text()
        return Number(out.trim().split('\n').at(-1)) === subscribers
      },
      { timeoutMs: REDIS_READY_TIMEOUT_MS, intervalMs: 50 },
    )
    if (!subscribed) throw new Error(`bench: ${subscribers} redis-cli ${subscribe} did not show up in ${numsub.join(' ')}`)
    let seconds = 0
    const { cpu } = await measureCpu([{ name: 'redis', pids: () => [pid] }], [], async () => {
      const startedAt = performance.now()
      const bench = Bun.spawn(
        ['redis-benchmark', '-h', '127.0.0.1', '-p', String(port), '-n', String(SHARD_PUBLISHES), '-c', String(SHARD_CONNECTIONS), '-P', String(SHARD_PIPELINE), '-q', command, channel, 'x'.repeat(SHARD_PAYLOAD_BYTES)],
        { stdout: 'ignore', stderr: 'pipe' },
      )
      const code = await bench.exited
      seconds = (performance.now() - startedAt) / 1000
      if (code !== 0) throw new Error(`bench: redis-benchmark exited ${code}: ${await new Response(bench.stderr).text()}`)
    })
    return { command, subscribers, publishes: SHARD_PUBLISHES, seconds, redisSeconds: cpu.seconds.redis }
  } finally {
    await stopListeners()
  }
}

// ---------------------------------------------------------------------------------------
// The curve: N instances, one Redis or a cluster

type CurveRow = {
  mode: Mode
  instances: number
  delivered: number
  messages: number
  p50: number
  p99: number
  lost: number
  problems: Map<string, number>
  messagesPerCommit: number
  cpu: CpuUsage
  /** Cores each part used with the sockets open and nothing sent. */
  idleCores: Record<string, number>
}

const bodyAt = (sentAt: number) => {
  const stamp = sentAt.toFixed(3) + ' '
  return stamp + 'x'.repeat(Math.max(1, BODY_CHARS - stamp.length))
}

type Prepared = { stack: TestStack; senders: Tokened[]; receivers: Tokened[]; rooms: string[] }

/** Users (each a member of every room) and rooms, made once per stack through the public API. */
async function prepare(stack: TestStack): Promise<Prepared> {
  const accounts = await inChunks(Array.from({ length: SENDERS_PER_ROOM + RECEIVERS_PER_ROOM }, (_, i) => i), PREPARE_CONCURRENCY, async () => {
    const account = await register(stack.url)
    return { ...account, accessToken: (await login(stack.url, account)).accessToken }
  })
  const [owner, ...others] = accounts
  const rooms: string[] = []
  for (let r = 0; r < ROOMS; r++) {
    const created = await call(stack.url, 'POST', '/chat/rooms', { token: owner.accessToken, body: { name: `scale ${r}` } })
    if (created.status !== 201) throw new Error(`bench: creating a room answered ${created.status}: ${JSON.stringify(created.body)}`)
    await inChunks(others, PREPARE_CONCURRENCY, async (member) => {
      const joined = await call(stack.url, 'POST', `/chat/rooms/${created.body.id}/join`, { token: member.accessToken })
      if (joined.status !== 204) throw new Error(`bench: joining a room answered ${joined.status}: ${JSON.stringify(joined.body)}`)
    })
    rooms.push(created.body.id)
  }
  return { stack, senders: accounts.slice(0, SENDERS_PER_ROOM), receivers: accounts.slice(SENDERS_PER_ROOM), rooms }
}

async function runCurveRow(mode: Mode, instances: number, prepared: Prepared, components: Component[]): Promise<CurveRow> {
  const { stack, rooms } = prepared
  const urls = stack.instancesOf('chat').slice(0, instances).map((instance) => instance.url)
  // A room's k-th socket goes to instance (room + k) mod N: every instance gets the same share.
  const urlFor = (room: number, k: number) => urls[(room + k) % instances]

  let windowStart = Infinity
  let windowEnd = Infinity
  const inWindow = (t: number) => t >= windowStart && t < windowEnd
  const latencies: number[] = []
  let deliveredInWindow = 0
  let deliveredTotal = 0
  let ackedInWindow = 0
  let ackedTotal = 0
  const problems = new Map<string, number>()
  const problem = (what: string) => problems.set(what, (problems.get(what) ?? 0) + 1)

  const sockets: SocketClient[] = []
  const closing = { now: false }
  const watch = (client: SocketClient, role: string) => {
    sockets.push(client)
    void client.closed.then(({ code }) => {
      if (!closing.now) problem(`${role} closed ${code}`)
    })
  }
  const jobs = rooms.flatMap((room, r) => prepared.receivers.map((account, k) => ({ room, r, k, account })))
  await inChunks(jobs, CONNECT_CONCURRENCY, async ({ room, r, k, account }) => {
    const client = await connect(urlFor(r, k), account.accessToken)
    watch(client, 'receiver')
    await joinRoom(client, room)
    client.frames.length = 0
    client.ws.onmessage = (event) => {
      const frame: Frame = JSON.parse(String(event.data))
      if (frame.type === 'message') {
        const now = performance.now()
        const sentAt = parseFloat(frame.body)
        deliveredTotal++
        if (inWindow(now)) deliveredInWindow++
        if (inWindow(sentAt)) latencies.push(now - sentAt)
      } else if (frame.type === 'error') problem(`receiver error ${frame.code}`)
    }
  })

  let sendUntil = Infinity
  const inFlight: Map<number, number>[] = []
  const starters: (() => void)[] = []
  for (const [r, room] of rooms.entries()) {
    for (const [k, account] of prepared.senders.entries()) {
      // Receivers took slots 0..R-1 of the room's round-robin; senders continue it.
      const client = await connect(urlFor(r, RECEIVERS_PER_ROOM + k), account.accessToken)
      watch(client, 'sender')
      client.frames.length = 0
      const pending = new Map<number, number>()
      inFlight.push(pending)
      let n = 0
      const sendNext = () => {
        const sentAt = performance.now()
        pending.set(++n, sentAt)
        client.send({ type: 'send', room, body: bodyAt(sentAt), clientId: `${r}-${k}-${instances}-${n}`, ref: n })
      }
      client.ws.onmessage = (event) => {
        const frame: Frame = JSON.parse(String(event.data))
        if (frame.type !== 'ack' && frame.type !== 'error') return
        if (typeof frame.ref !== 'number' || !pending.delete(frame.ref)) return
        if (frame.type === 'ack') {
          ackedTotal++
          if (inWindow(performance.now())) ackedInWindow++
        } else problem(`sender error ${frame.code}`)
        if (performance.now() < sendUntil) sendNext()
      }
      starters.push(() => {
        for (let i = 0; i < WINDOW; i++) sendNext()
      })
    }
  }
  await Bun.sleep(SETTLE_MS)

  try {
    const idle = await measureCpu([], components, () => Bun.sleep(IDLE_SAMPLE_MS))
    const [{ before }] = await stack.sql<{ before: string }[]>`select coalesce(max(created_at), now())::text as before from chat.messages`
    for (const start of starters) start()
    await Bun.sleep(WARMUP_SECONDS * 1000)
    windowStart = performance.now()
    windowEnd = sendUntil = windowStart + SECONDS * 1000
    const { cpu } = await measureCpu([], components, () => Bun.sleep(Math.max(0, sendUntil - performance.now())))

    await waitFor(async () => inFlight.every((pending) => pending.size === 0), { timeoutMs: DRAIN_TIMEOUT_MS, intervalMs: DRAIN_POLL_MS })
    const expected = () => ackedTotal * RECEIVERS_PER_ROOM
    await waitFor(async () => deliveredTotal >= expected(), { timeoutMs: DRAIN_TIMEOUT_MS, intervalMs: DRAIN_POLL_MS })
    // A batch's messages share their transaction's now(): distinct times count commits.
    const [commits] = await stack.sql<{ messages: number; commits: number }[]>`
      select count(*)::int as messages, count(distinct created_at)::int as commits from chat.messages where created_at > ${before}::timestamptz`
    latencies.sort((a, b) => a - b)
    return {
      mode,
      instances,
      delivered: deliveredInWindow,
      messages: ackedInWindow,
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
      lost: Math.max(0, expected() - deliveredTotal),
      problems,
      messagesPerCommit: commits.commits === 0 ? Number.NaN : commits.messages / commits.commits,
      cpu,
      idleCores: Object.fromEntries(Object.entries(idle.cpu.seconds).map(([name, seconds]) => [name, seconds / idle.cpu.wallSeconds])),
    }
  } finally {
    closing.now = true
    await Promise.all(
      sockets.map((client) => {
        client.close()
        return client.closed
      }),
    )
  }
}

async function runCurve(mode: Mode, privateRedis: { url: string; port: number; pid: number }, afterRows: (stack: TestStack, prepared: Prepared) => Promise<void>): Promise<CurveRow[]> {
  let cluster: RedisCluster | null = null
  let stopCluster: (() => Promise<void>) | null = null
  let redisPids: () => number[]
  const env: Record<string, string> = { LOG_LEVEL: 'warn', SEND_PER_SECOND: UNLIMITED_SENDS, SEND_BURST: UNLIMITED_SENDS }
  if (mode === 'cluster') {
    console.error(`bench: starting a Redis Cluster (${CLUSTER_MASTERS} masters, one replica each)…`)
    const started = await startRedisCluster({ masters: CLUSTER_MASTERS })
    cluster = started
    stopCluster = once(() => started.stop())
    atCleanUp(stopCluster)
    // Replicas count too: every SPUBLISH is copied to the shard's replica.
    redisPids = () => started.nodes.filter((node) => node.child.proc.exitCode === null).map((node) => node.child.proc.pid)
  } else {
    // The services use the private server (the harness' claimed DB on the shared one stays unused).
    env.REDIS_URL = privateRedis.url
    redisPids = () => [privateRedis.pid]
  }
  console.error(`bench: starting a stack with ${MAX_INSTANCES} chat instances on ${mode === 'single' ? 'one Redis' : 'the cluster'}…`)
  const stack = await startTestStack({ chat: MAX_INSTANCES, env, ...(cluster === null ? {} : { redisCluster: { seeds: cluster.seeds } }) })
  const stopStack = once(() => stack.stop())
  atCleanUp(stopStack)
  try {
    console.error(`bench: registering ${SENDERS_PER_ROOM + RECEIVERS_PER_ROOM} users, ${ROOMS} rooms…`)
    const prepared = await prepare(stack)
    const chatPids = stack.instancesOf('chat').map((instance) => instance.proc.pid)
    const components: Component[] = [
      { name: 'client', pids: () => [process.pid] },
      // Every chat instance, idle ones too (they hold no sockets, so they cost next to nothing).
      { name: 'chat', pids: () => chatPids },
      { name: 'redis', pids: redisPids },
      { name: 'postgres', pids: databaseBackends(stack.databaseUrl) },
    ]
    const rows: CurveRow[] = []
    for (let n = 1; n <= MAX_INSTANCES; n++) {
      console.error(`bench: ${mode}, ${n} instance${n === 1 ? '' : 's'}: ${WARMUP_SECONDS} s warm-up + ${SECONDS} s`)
      rows.push(await runCurveRow(mode, n, prepared, components))
    }
    await afterRows(stack, prepared)
    return rows
  } finally {
    await stopStack()
    await stopCluster?.()
  }
}

// ---------------------------------------------------------------------------------------
// Postgres: messages per second through the chat's group-commit store

type StoreRow = { stores: number; inFlight: number; stored: number; commits: number; seconds: number; postgresSeconds: number; postgresIdleCores: number }

async function measureStore(prepared: Prepared, stores: number, inFlight: number): Promise<StoreRow> {
  const { stack, rooms, senders } = prepared
  const log = createLogger('bench-store', 'warn')
  const settings = {
    STORE_BATCH_MAX: ChatConfig.properties.STORE_BATCH_MAX.default,
    STORE_QUEUE_MAX: ChatConfig.properties.STORE_QUEUE_MAX.default,
    STORE_STATEMENT_TIMEOUT_MS: ChatConfig.properties.STORE_STATEMENT_TIMEOUT_MS.default,
    STORE_FAILURE_BACKOFF_MS: ChatConfig.properties.STORE_FAILURE_BACKOFF_MS.default,
  }
  // One pool per store, as each chat instance has its own.
  const pools = Array.from({ length: stores }, () => createDb(stack.databaseUrl, { max: 2, customPlans: true }))
  const [{ before }] = await stack.sql<{ before: string }[]>`select coalesce(max(created_at), now())::text as before from chat.messages`
  let stored = 0
  let failed = 0
  let n = 0
  const backends: Component[] = [{ name: 'postgres', pids: databaseBackends(stack.databaseUrl) }]
  try {
    // The stack's chat instances keep querying this database while idle: measured, then subtracted.
    const idle = await measureCpu([], backends, () => Bun.sleep(IDLE_SAMPLE_MS))
    const { cpu } = await measureCpu([], backends, async () => {
      const until = performance.now() + STORE_SECONDS * 1000
      await Promise.all(
        pools.map(async (sql, s) => {
          const store = createMessageStore(sql, log, settings, () => {})
          const next = (): NewMessage => {
            const i = n++
            return { roomId: rooms[i % rooms.length], senderId: senders[i % senders.length].id, body: bodyAt(performance.now()), clientId: `store-${s}-${i}` }
          }
          // `inFlight` loops per store, each sending its next message once the last is stored.
          await Promise.all(
            Array.from({ length: inFlight }, async () => {
              while (performance.now() < until) {
                const result = await store.store(next())
                if (result.ok) stored++
                else failed++
              }
            }),
          )
        }),
      )
    })
    if (failed > 0) console.error(`bench: ${failed} stores failed in the ${stores}×${inFlight} row`)
    const [{ commits }] = await stack.sql<{ commits: number }[]>`
      select count(distinct created_at)::int as commits from chat.messages where created_at > ${before}::timestamptz and client_id like 'store-%'`
    return { stores, inFlight, stored, commits, seconds: cpu.wallSeconds, postgresSeconds: cpu.seconds.postgres, postgresIdleCores: idle.cpu.seconds.postgres / idle.cpu.wallSeconds }
  } finally {
    await Promise.all(pools.map((sql) => sql.end({ timeout: 5 })))
  }
}

// ---------------------------------------------------------------------------------------

async function main() {
  const background = await backgroundLoad()
  const privateRedis = await startPrivateRedis()

  console.error(`bench: Redis shard, ${SHARD_PUBLISHES} publishes per row…`)
  const shardRows: ShardRow[] = []
  for (const command of ['PUBLISH', 'SPUBLISH'] as const) {
    for (const k of SHARD_SUBSCRIBER_COUNTS) shardRows.push(await measureShard(privateRedis.port, privateRedis.pid, command, k))
  }

  const curve: CurveRow[] = []
  const storeRows: StoreRow[] = []
  for (const mode of MODES as Mode[]) {
    curve.push(
      ...(await runCurve(mode, privateRedis, async (_stack, prepared) => {
        if (storeRows.length > 0) return
        console.error(`bench: Postgres group commit, ${STORE_SECONDS} s per row…`)
        for (const row of STORE_ROWS) storeRows.push(await measureStore(prepared, row.stores, row.inFlight))
      })),
    )
  }
  printReport(curve, shardRows, storeRows, background)
}

const idleSecondsOf = (row: CurveRow) => ({
  chat: (row.idleCores.chat ?? 0) * row.cpu.wallSeconds,
  redis: (row.idleCores.redis ?? 0) * row.cpu.wallSeconds,
  postgres: (row.idleCores.postgres ?? 0) * row.cpu.wallSeconds,
})

function printReport(curve: CurveRow[], shardRows: ShardRow[], storeRows: StoreRow[], background: string) {
  const redisVersion = versionOf(['redis-server', '--version'])
  const out = reportHeader({
    software: `Bun ${Bun.version}, ${redisVersion}, ${versionOf(['psql', '--version'])}`,
    load:
      `${ROOMS} rooms × (${SENDERS_PER_ROOM} senders + ${RECEIVERS_PER_ROOM} receivers), a room's sockets round-robin over the row's instances (direct, no Caddy); ` +
      `${WINDOW} sends in flight per sender (flat out); ${WARMUP_SECONDS} s warm-up, ${SECONDS} s measured; bodies of ${BODY_CHARS} characters`,
    background: `${background} (other work on the machine)`,
  })
  const parts = ['client', 'chat', 'redis', 'postgres'] as const
  const mark = (cpu: CpuUsage) => disturbedMark(restCores(cpu, cpu.seconds, parts))
  const int = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '–')
  const one = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : '–')

  out.push('The curve (flat out; CPU per delivery is the figure that carries to other machines):', '')
  out.push(
    ...markdownTable(
      ['instances', 'Redis', 'delivered/s', 'per instance', 'p50 ms', 'p99 ms', 'CPU ms / 1000 deliveries', 'net of idle', 'chat µs/delivery', 'net', 'Redis µs/msg', 'net', 'Postgres µs/msg', 'net', 'msgs/commit', 'lost', 'busy', 'rest'],
      curve.map((row) => {
        const f = curveFigures({
          instances: row.instances,
          windowSeconds: SECONDS,
          delivered: row.delivered,
          messages: row.messages,
          cpu: { chat: row.cpu.seconds.chat ?? 0, redis: row.cpu.seconds.redis ?? 0, postgres: row.cpu.seconds.postgres ?? 0 },
          idleSeconds: idleSecondsOf(row),
        })
        return [
          `${row.instances}${mark(row.cpu)}`,
          row.mode === 'single' ? 'one' : `cluster ×${CLUSTER_MASTERS}`,
          int(f.deliveredPerSecond),
          int(f.deliveredPerSecondPerInstance),
          ms(row.p50),
          ms(row.p99),
          one(f.cpuMsPer1000),
          one(f.net.cpuMsPer1000),
          one(f.chatUsPerDelivery),
          one(f.net.chatUsPerDelivery),
          one(f.redisUsPerMessage),
          one(f.net.redisUsPerMessage),
          one(f.postgresUsPerMessage),
          one(f.net.postgresUsPerMessage),
          one(row.messagesPerCommit),
          String(row.lost),
          percent(busyCores(row.cpu)),
          percent(restCores(row.cpu, row.cpu.seconds, parts)),
        ]
      }),
    ),
  )
  out.push(
    '',
    'delivered/s: message frames all receivers got in the measured window. Latency: send → a receiver has the frame. CPU: user +',
    'system time from /proc during the window; chat: every chat process; Redis: the private server, or every cluster node (replicas',
    'included); Postgres: this stack\'s backends (not its WAL writer or checkpointer). busy: the whole machine, in % of one core',
    `(${cpus().length} cores); rest: what none of client/chat/Redis/Postgres accounts for (other work, the kernel's loopback share).`,
    `net (of idle): less what each part used idle, sockets open and nothing sent (${IDLE_SAMPLE_MS} ms sampled before the row: timers,`,
    'heartbeats, GC, the instances\' periodic catch-up queries, Redis\' and the cluster bus\' cron), which would otherwise pass for',
    'cost per unit when outside load lowers the throughput. lost: acknowledged messages × receivers not delivered after the drain.',
  )
  for (const row of curve.filter((r) => r.problems.size > 0)) {
    out.push('', `Problems with ${row.instances} instance(s), ${row.mode}: ${[...row.problems].map(([what, count]) => `${what} ×${count}`).join('; ')}`)
  }

  out.push('', `A Redis shard: redis-benchmark (${SHARD_CONNECTIONS} connections, pipeline ${SHARD_PIPELINE}), ${SHARD_PAYLOAD_BYTES}-byte messages, redis-cli subscribers:`, '')
  out.push(
    ...markdownTable(
      ['command', 'subscribers', 'publishes/s', 'deliveries/s', 'Redis µs/publish', 'Redis CPU', 'publishes/s at one full core'],
      shardRows.map((row) => {
        const us = (row.redisSeconds / row.publishes) * 1e6
        return [row.command, String(row.subscribers), int(row.publishes / row.seconds), int((row.publishes * row.subscribers) / row.seconds), us.toFixed(2), percent(row.redisSeconds / row.seconds), int(1e6 / us)]
      }),
    ),
  )
  for (const command of ['PUBLISH', 'SPUBLISH'] as const) {
    const [a, b] = shardRows.filter((row) => row.command === command)
    if (a === undefined || b === undefined) continue
    const cost = shardCost(a.subscribers, (a.redisSeconds / a.publishes) * 1e6, b.subscribers, (b.redisSeconds / b.publishes) * 1e6)
    out.push('', `${command}: ${cost.perPublishUs.toFixed(2)} µs per publish + ${cost.perSubscriberUs.toFixed(2)} µs per subscribed instance (Redis CPU).`)
  }

  out.push('', `Postgres through the chat's group-commit store (createMessageStore, ${STORE_SECONDS} s per row, ${ROOMS} rooms):`, '')
  out.push(
    ...markdownTable(
      ['stores × in flight', 'messages/s', 'msgs/commit', 'commits/s', 'Postgres µs/msg', 'net of idle', 'Postgres CPU', 'idle'],
      storeRows.map((row) => [
        `${row.stores} × ${row.inFlight}`,
        int(row.stored / row.seconds),
        row.commits === 0 ? '–' : one(row.stored / row.commits),
        int(row.commits / row.seconds),
        one((row.postgresSeconds / row.stored) * 1e6),
        one((Math.max(0, row.postgresSeconds - row.postgresIdleCores * row.seconds) / row.stored) * 1e6),
        percent(row.postgresSeconds / row.seconds),
        percent(row.postgresIdleCores),
      ]),
    ),
  )
  const netStoreUs = (row: StoreRow) => (Math.max(0, row.postgresSeconds - row.postgresIdleCores * row.seconds) / row.stored) * 1e6
  const [alone, batched] = [storeRows.find((row) => row.inFlight === 1), storeRows.find((row) => row.stores === 1 && row.inFlight > 1)]
  if (alone !== undefined && batched !== undefined && alone.commits > 0 && batched.commits > 0) {
    const cost = commitCost(alone.stored / alone.commits, netStoreUs(alone), batched.stored / batched.commits, netStoreUs(batched))
    out.push('', `Postgres: ${cost.perCommitUs.toFixed(0)} µs per commit + ${cost.perMessageUs.toFixed(0)} µs per message (backend CPU, net of idle): the model's a and b.`)
  }
  if (curve.some((row) => mark(row.cpu) !== '')) out.push('', disturbedNote('its throughput understates the system; its CPU per delivery much less so.'))
  console.log(out.join('\n'))
}

await runBench(main)
