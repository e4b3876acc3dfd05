/**
 * Throughput and latency of the stack against bare baselines, measured in one run on one
 * machine so the rows compare: a bare Bun.serve direct and behind Caddy, then the
 * services' shell, an authenticated read, login (argon2id-bound) and refresh rotation.
 * Each row's CPU is split by process, to show where the time goes.
 *
 *   bun run bench                      10 s per row
 *   BENCH_SECONDS=5 bun run bench      shorter rows
 *
 * Settings (environment): BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (2), BENCH_THREADS (2),
 * BENCH_CONNECTIONS (32), BENCH_LOGIN_CONNECTIONS (16), BENCH_USERS (32),
 * BENCH_ROWS (comma-separated row ids to run; default all): A, B, B2, B3, health-caddy,
 * health-direct, me-caddy, me-direct, me-direct-info, login, refresh.
 */
import { writeFile } from 'node:fs/promises'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { AuthConfig } from '../auth/src/config'
import { findFreePorts } from '../scripts/net'
import { REPO_ROOT } from '../scripts/stack'
import { call, login, register, type Account } from '../scripts/api-client'
import { startTestStack, type TestStack } from '../scripts/test-stack'
import { childPids, databaseBackends, measureCpu, pidsByCommand, waitUntilQuiet, type Component, type CpuUsage } from './cpu'
import { atCleanUp, inChunks, runBench, startChild, workDir } from './lifecycle'
import { refreshRotationScript, rotatingBodiesScript, staticRequestScript } from './lua'
import { backgroundLoad, busyCores, disturbedMark, disturbedNote, markdownTable, ms, percent, reportHeader, restCores, versionOf } from './report'
import { positiveInt, PREPARE_CONCURRENCY, SECONDS, WARMUP_SECONDS, wantedRow as wanted } from './settings'
import { runWrk, type WrkResult } from './wrk'

const THREADS = positiveInt('BENCH_THREADS', 2)
const CONNECTIONS = positiveInt('BENCH_CONNECTIONS', 32)
/** Login is CPU-bound on argon2id: more connections only queue longer, they add no throughput. */
const LOGIN_CONNECTIONS = positiveInt('BENCH_LOGIN_CONNECTIONS', 16)
const USERS = positiveInt('BENCH_USERS', 32)

/** Each wrk thread starts with this many refresh tokens per connection it holds. */
const REFRESH_TOKENS_PER_CONNECTION = 2
/** A login waits in argon2id's queue; wrk's default 2 s would count a slow answer as an error. */
const SLOW_ROW_TIMEOUT_SECONDS = 10
const PROCESS_READY_TIMEOUT_MS = 10_000
const ARGON2_SAMPLES = 5

type Row = {
  id: string
  name: string
  url: string
  script?: string
  connections: number
  /** Rows whose requests change state that a second run could not repeat get no warm-up. */
  warmUp: boolean
  timeoutSeconds?: number
}

type Measured = { row: Row; wrk: WrkResult; cpu: CpuUsage }

function caddyEnv(extra: Record<string, string> = {}): Record<string, string> {
  // Caddy writes autosave and data files under these; keep them in the throwaway folder.
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: workDir(), XDG_CONFIG_HOME: workDir(), XDG_DATA_HOME: workDir(), ...extra }
}

async function expectOk(label: string, answer: Promise<{ status: number }>) {
  const { status } = await answer
  if (status < 200 || status > 299) throw new Error(`bench: sanity check ${label} answered ${status}`)
}

type Argon2Cost = { memoryKib: number; timeCost: number; wallMs: number; cpuMs: number; parallelPerSecond: number }

/**
 * One argon2id verify with the auth service's own parameters: wall and CPU time alone
 * (CPU time is what bounds logins/s; wall time also shows other load on the machine),
 * and verifies/s with one per core at a time.
 */
async function measureArgon2(stackEnv: Record<string, string>): Promise<Argon2Cost> {
  const memoryKib = Number(stackEnv.ARGON2_MEMORY_KIB ?? AuthConfig.properties.ARGON2_MEMORY_KIB.default)
  const timeCost = Number(stackEnv.ARGON2_TIME_COST ?? AuthConfig.properties.ARGON2_TIME_COST.default)
  const password = 'correct horse battery staple'
  const hash = await Bun.password.hash(password, { algorithm: 'argon2id', memoryCost: memoryKib, timeCost })
  const wall: number[] = []
  const cpu: number[] = []
  for (let i = 0; i < ARGON2_SAMPLES; i++) {
    const startedAt = performance.now()
    const cpuBefore = process.cpuUsage()
    await Bun.password.verify(password, hash)
    const used = process.cpuUsage(cpuBefore)
    wall.push(performance.now() - startedAt)
    cpu.push((used.user + used.system) / 1000)
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]
  const cores = cpus().length
  const startedAt = performance.now()
  await Promise.all(
    Array.from({ length: cores }, async () => {
      for (let i = 0; i < ARGON2_SAMPLES; i++) await Bun.password.verify(password, hash)
    }),
  )
  const parallelPerSecond = (cores * ARGON2_SAMPLES) / ((performance.now() - startedAt) / 1000)
  return { memoryKib, timeCost, wallMs: median(wall), cpuMs: median(cpu), parallelPerSecond }
}

async function main() {
  const [barePort, minimalCaddyPort, projectCaddyPort, quietCaddyPort] = await findFreePorts(4)

  console.error('bench: starting the stack (LOG_LEVEL=warn) and the baselines…')
  // Tests discard Caddy's access log; a benchmark keeps it, as the Caddyfile's default does.
  process.env.TEST_CADDY_ACCESS_LOG ??= 'stdout'
  const stack: TestStack = await startTestStack({ env: { LOG_LEVEL: 'warn' } })
  atCleanUp(() => stack.stop())

  const bareUrl = `http://127.0.0.1:${barePort}`
  const bare = await startChild({
    name: 'bare',
    cmd: [process.execPath, 'run', join(import.meta.dir, 'bare-server.ts')],
    env: { PATH: process.env.PATH ?? '', PORT: String(barePort) },
    readyUrl: bareUrl + '/',
    readyTimeoutMs: PROCESS_READY_TIMEOUT_MS,
  })

  const minimalCaddyfile = join(workDir(), 'Caddyfile.minimal')
  await writeFile(
    minimalCaddyfile,
    `{\n\tadmin off\n\tauto_https off\n}\n:${minimalCaddyPort} {\n\treverse_proxy 127.0.0.1:${barePort}\n}\n`,
  )
  const minimalCaddyUrl = `http://127.0.0.1:${minimalCaddyPort}`
  await startChild({
    name: 'caddy-minimal',
    cmd: ['caddy', 'run', '--config', minimalCaddyfile, '--adapter', 'caddyfile'],
    env: caddyEnv(),
    readyUrl: minimalCaddyUrl + '/',
    readyTimeoutMs: PROCESS_READY_TIMEOUT_MS,
  })

  // The project's own Caddyfile (access log, request ids, body limit, health checks) in
  // front of the bare server: the proxy configuration's cost without any service code;
  // once more with the access log discarded, to show what writing it costs.
  const projectCaddy = (port: number, accessLog: string) =>
    startChild({
      name: `caddy-project-${accessLog}`,
      cmd: ['caddy', 'run', '--config', join(REPO_ROOT, 'Caddyfile'), '--adapter', 'caddyfile'],
      env: caddyEnv({
        HTTP_PORT: String(port),
        CADDY_ADMIN: 'off',
        CADDY_ACCESS_LOG: accessLog,
        AUTH_UPSTREAMS: `127.0.0.1:${barePort}`,
        USER_UPSTREAMS: `127.0.0.1:${barePort}`,
        CHAT_UPSTREAMS: '',
      }),
      readyUrl: `http://127.0.0.1:${port}/users/health`,
      readyTimeoutMs: PROCESS_READY_TIMEOUT_MS,
    })
  const projectCaddyUrl = `http://127.0.0.1:${projectCaddyPort}`
  const quietCaddyUrl = `http://127.0.0.1:${quietCaddyPort}`
  if (wanted('B2')) await projectCaddy(projectCaddyPort, 'stdout')
  if (wanted('B3')) await projectCaddy(quietCaddyPort, 'discard')

  // A second user instance that logs every request at info level, outside Caddy's rotation.
  const userDirect = stack.instancesOf('user')[0]
  const userInfoLevel = wanted('me-direct-info') ? await stack.startInstance('user', { env: { LOG_LEVEL: 'info' } }) : null

  console.error(`bench: registering ${USERS} users and logging in…`)
  const accounts: Account[] = await inChunks(Array.from({ length: USERS }, (_, i) => i), PREPARE_CONCURRENCY, () => register(stack.url))
  const { accessToken } = await login(stack.url, accounts[0])
  const loginsForRefresh = wanted('refresh') ? CONNECTIONS * REFRESH_TOKENS_PER_CONNECTION : 0
  const refreshTokens = (
    await inChunks(Array.from({ length: loginsForRefresh }, (_, i) => accounts[i % accounts.length]), PREPARE_CONCURRENCY, (account) => login(stack.url, account))
  ).map((tokens) => tokens.refreshToken)

  const bearer = { Authorization: `Bearer ${accessToken}` }
  await Promise.all([
    expectOk('GET /users/me via Caddy', call(stack.url, 'GET', '/users/me', { token: accessToken })),
    expectOk('GET /users/me direct', call(userDirect.url, 'GET', '/users/me', { token: accessToken })),
    ...(userInfoLevel === null ? [] : [expectOk('GET /users/me info-level', call(userInfoLevel.url, 'GET', '/users/me', { token: accessToken }))]),
  ])

  const script = async (name: string, text: string) => {
    const path = join(workDir(), `${name}.lua`)
    await writeFile(path, text)
    return path
  }
  const meScript = await script('me', staticRequestScript(bearer))
  const loginScript = await script(
    'login',
    rotatingBodiesScript(accounts.map((account) => JSON.stringify({ login: account.username, password: account.password }))),
  )
  const refreshScript = await script(
    'refresh',
    refreshRotationScript(Array.from({ length: THREADS }, (_, thread) => refreshTokens.filter((_, i) => i % THREADS === thread))),
  )

  const rows: Row[] = [
    { id: 'A', name: 'A: bare Bun.serve, direct', url: bareUrl + '/', connections: CONNECTIONS, warmUp: true },
    { id: 'B', name: 'B: bare Bun.serve via minimal Caddy', url: minimalCaddyUrl + '/', connections: CONNECTIONS, warmUp: true },
    { id: 'B2', name: "B2: bare Bun.serve via the project's Caddyfile", url: projectCaddyUrl + '/users/health', connections: CONNECTIONS, warmUp: true },
    { id: 'B3', name: 'B3: same as B2, Caddy access log discarded', url: quietCaddyUrl + '/users/health', connections: CONNECTIONS, warmUp: true },
    { id: 'health-caddy', name: 'GET /users/health via Caddy', url: stack.url + '/users/health', connections: CONNECTIONS, warmUp: true },
    { id: 'health-direct', name: 'GET /users/health direct', url: userDirect.url + '/users/health', connections: CONNECTIONS, warmUp: true },
    { id: 'me-caddy', name: 'GET /users/me via Caddy', url: stack.url + '/users/me', script: meScript, connections: CONNECTIONS, warmUp: true },
    { id: 'me-direct', name: 'GET /users/me direct', url: userDirect.url + '/users/me', script: meScript, connections: CONNECTIONS, warmUp: true },
    ...(userInfoLevel === null
      ? []
      : [{ id: 'me-direct-info', name: 'GET /users/me direct, LOG_LEVEL=info', url: userInfoLevel.url + '/users/me', script: meScript, connections: CONNECTIONS, warmUp: true }]),
    {
      id: 'login',
      name: `POST /auth/login via Caddy (${USERS} users)`,
      url: stack.url + '/auth/login',
      script: loginScript,
      connections: LOGIN_CONNECTIONS,
      warmUp: true,
      timeoutSeconds: SLOW_ROW_TIMEOUT_SECONDS,
    },
    {
      id: 'refresh',
      name: 'POST /auth/refresh via Caddy (rotation)',
      url: stack.url + '/auth/refresh',
      script: refreshScript,
      connections: CONNECTIONS,
      // Each token can be spent once; a warm-up would leave the measured run with spent ones.
      warmUp: false,
      timeoutSeconds: SLOW_ROW_TIMEOUT_SECONDS,
    },
  ].filter((row) => wanted(row.id))

  const userPids = () => stack.instancesOf('user').map((instance) => instance.proc.pid)
  const components: Component[] = [
    { name: 'bare', pids: () => [bare.proc.pid] },
    { name: 'caddy', pids: () => childPids(process.pid, 'caddy') },
    { name: 'user', pids: userPids },
    { name: 'auth', pids: () => stack.instancesOf('auth').map((instance) => instance.proc.pid) },
    // Backends of this stack's database only: other clients share the server.
    { name: 'postgres', pids: databaseBackends(stack.databaseUrl) },
  ]
  // Redis is one process shared with every other client, so it is shown but not awaited.
  const redis: Component = { name: 'redis', pids: () => pidsByCommand('redis-server') }

  const argon2 = wanted('login') ? await measureArgon2(stack.env) : null
  const background = await backgroundLoad()

  const measured: Measured[] = []
  for (const row of rows) {
    const threads = Math.min(THREADS, row.connections)
    if (row.warmUp && WARMUP_SECONDS > 0) {
      await runWrk({ url: row.url, script: row.script, threads, connections: row.connections, seconds: WARMUP_SECONDS, timeoutSeconds: row.timeoutSeconds, logDir: workDir(), label: `${row.id}-warmup` })
    }
    await waitUntilQuiet(components)
    console.error(`bench: ${row.name} (${SECONDS} s, -t${threads} -c${row.connections})`)
    const { result, cpu } = await measureCpu(components, [redis], () =>
      runWrk({ url: row.url, script: row.script, threads, connections: row.connections, seconds: SECONDS, timeoutSeconds: row.timeoutSeconds, logDir: workDir(), label: row.id }),
    )
    measured.push({ row, wrk: result, cpu })
  }
  const [{ version: postgresVersion }] = await stack.sql`select current_setting('server_version') as version`

  console.error(`bench: the stack's logs stay in ${stack.logDir}`)
  printReport(measured, {
    software: `Bun ${Bun.version}, ${versionOf(['caddy', 'version']).split(' ')[0].replace(/^v?/, 'Caddy v')}, ${versionOf(['wrk', '-v']).replace(/ \[.*$/, '')}, PostgreSQL ${postgresVersion}`,
    load: `wrk -t${THREADS} -c${CONNECTIONS} (login: -c${LOGIN_CONNECTIONS}), ${SECONDS} s per row${WARMUP_SECONDS > 0 ? ` after a ${WARMUP_SECONDS} s warm-up (not for refresh)` : ''}; services at LOG_LEVEL=warn unless the row says otherwise; Caddy access log ${process.env.TEST_CADDY_ACCESS_LOG === 'discard' ? 'discarded' : 'written to a file'} unless the row says otherwise`,
    background: `${background} (stack idle: other work on the machine)`,
    argon2,
  })
}

const COMPONENTS = ['wrk', 'bare', 'caddy', 'user', 'auth', 'postgres', 'redis'] as const

function printReport(measured: Measured[], info: { software: string; load: string; background: string; argon2: Argon2Cost | null }) {
  const cores = cpus().length
  const baseline = measured.find((m) => m.row.id === 'A')?.wrk.requestsPerSecond
  // A share that rounds to 0% but is not nothing shows as such.
  const share = (value: number) => (value > 0 && value < 0.01 ? '<1%' : percent(value))
  const rest = ({ wrk, cpu }: Measured) => restCores(cpu, { ...cpu.seconds, wrk: wrk.cpuSeconds }, COMPONENTS)
  const mark = (m: Measured) => disturbedMark(rest(m))
  const out: string[] = reportHeader(info)
  out.push(
    ...markdownTable(
      ['Row', 'req/s', '% of A', 'p50 ms', 'p99 ms', 'non-2xx', 'socket errors', 'requests'],
      measured.map((m) => {
        const { row, wrk } = m
        return [
          `${row.name}${mark(m)}`,
          Math.round(wrk.requestsPerSecond).toLocaleString('en-US'),
          baseline === undefined ? '–' : share(wrk.requestsPerSecond / baseline),
          ms(wrk.p50Ms),
          ms(wrk.p99Ms),
          String(wrk.non2xx),
          String(wrk.socketErrors),
          wrk.requests.toLocaleString('en-US'),
        ]
      }),
    ),
  )
  out.push(
    '',
    `CPU time per request in µs, by process (user + system, all threads; counted until the row drained, divided by the requests`,
    `completed plus those still in flight). postgres: this stack's backends only; redis: the whole shared server. "rest" is machine CPU`,
    `no listed process accounts for (other work on the machine, the kernel's share of loopback networking), "busy" the whole machine,`,
    `both in % of one core (${cores} cores = ${cores * 100}%):`,
    '',
  )
  out.push(
    ...markdownTable(
      ['Row', ...COMPONENTS, 'rest', 'busy'],
      measured.map((m) => {
        const { row, wrk, cpu } = m
        const seconds: Record<string, number> = { ...cpu.seconds, wrk: wrk.cpuSeconds }
        // The CPU is counted until the row has drained, so the requests each connection still
        // had in flight when wrk stopped are served within it too.
        const served = wrk.requests + row.connections
        const perRequest = (name: string) => {
          const us = ((seconds[name] ?? 0) / served) * 1e6
          return us < 0.5 ? '0' : Math.round(us).toLocaleString('en-US')
        }
        return [`${row.name}${mark(m)}`, ...COMPONENTS.map(perRequest), share(rest(m)), share(busyCores(cpu))]
      }),
    ),
  )
  if (info.argon2 !== null) {
    const { memoryKib, timeCost, wallMs, cpuMs, parallelPerSecond } = info.argon2
    out.push(
      '',
      `argon2id verify (m=${memoryKib} KiB, t=${timeCost}, p=1), measured in this process before the rows: ` +
        `${cpuMs.toFixed(1)} ms CPU (${wallMs.toFixed(1)} ms wall) each; ${parallelPerSecond.toFixed(0)} verifies/s with ${cores} at a time. ` +
        `Hashing alone caps logins at about ${Math.floor((cores * 1000) / cpuMs)}/s on ${cores} idle cores.`,
    )
  }
  if (measured.some((m) => mark(m) !== '')) {
    out.push('', disturbedNote('its req/s and latency understate the stack; its CPU per request is much less affected.'))
  }
  const failed = measured.filter(({ wrk }) => wrk.non2xx > 0 || wrk.socketErrors > 0)
  if (failed.length > 0) out.push('', `Warning: errors in ${failed.map(({ row }) => row.id).join(', ')} (wrk's own output for those rows follows on stderr).`)
  console.log(out.join('\n'))
  for (const { row, wrk } of failed) console.error(`\n--- wrk output for ${row.id} ---\n${wrk.raw}`)
}

await runBench(main)
