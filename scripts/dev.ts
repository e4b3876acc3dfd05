import { join, resolve } from 'node:path'
import { BaseConfig } from '@chat/common/config'
import { canConnect } from './net'
import { ensurePostgres, PostgresError, type LocalPostgres } from './postgres'
import { ensureRedis, RedisError, type LocalRedis } from './redis'
import { REPO_ROOT, SERVICE_NAMES, SERVICES, startStack, StackError, type ServiceName, type Stack } from './stack'

/** Instance i of a service listens on its base port + i × this, e.g. auth on 3001, 3011, 3021. */
const PORT_STEP = 10
/** Two chat instances by default, so development exercises the Redis fan-out like production. */
const DEFAULT_INSTANCES: Record<ServiceName, number> = { auth: 1, user: 1, chat: 2 }
/** A second Ctrl-C within a stuck shutdown exits at once (the exit hook still kills the children). */
const FORCED_EXIT_CODE = 130
const PARENT_CHECK_INTERVAL_MS = 1000
const DEFAULT_HTTP_PORT = 8080
const MAX_PORT = 65_535

const say = (line: string) => console.log(`[dev] ${line}`)

/**
 * Working defaults for a laptop; anything set in the environment wins. NODE_ENV, HOST,
 * LOG_LEVEL and the rest are left to the services' own config defaults. The store URLs are
 * set here too because this script makes them usable (starting Postgres or Redis) first.
 */
function devEnvironment(): Record<string, string> {
  const defined = Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined))
  const env: Record<string, string> = {
    DATABASE_URL: BaseConfig.properties.DATABASE_URL.default,
    REDIS_URL: BaseConfig.properties.REDIS_URL.default,
    DATA_DIR: join(REPO_ROOT, '.data'),
    HTTP_PORT: String(DEFAULT_HTTP_PORT),
    CADDY_ADMIN: 'localhost:2019',
    // A laptop's stack is for this machine only (the services bind 127.0.0.1 already).
    CADDY_BIND: '127.0.0.1',
    ...defined,
  }
  // The public origin follows the port Caddy listens on, unless set explicitly: it is the
  // WebSocket Origin allow-list and the token issuer.
  env.PUBLIC_ORIGIN ??= `http://localhost:${env.HTTP_PORT}`
  env.JWT_ISSUER ??= `${env.PUBLIC_ORIGIN}/auth`
  env.PUBLIC_URL ??= env.PUBLIC_ORIGIN
  return env
}

function readCount(env: Record<string, string>, service: ServiceName): number {
  const name = `${service.toUpperCase()}_INSTANCES`
  const value = Number(env[name] ?? DEFAULT_INSTANCES[service])
  if (!Number.isInteger(value) || value < 0) throw new StackError(`${name} must be a whole number ≥ 0, got ${JSON.stringify(env[name])}`)
  return value
}

/** A TCP port from the environment, or one clear line instead of a service failing to listen. */
function readPort(env: Record<string, string>, name: string, fallback: number): number {
  const raw = env[name] ?? String(fallback)
  const value = Number(raw)
  if (!/^\d+$/.test(raw) || value < 1 || value > MAX_PORT) throw new StackError(`${name} must be a port number (1–${MAX_PORT}), got ${JSON.stringify(env[name])}`)
  return value
}

function basePort(env: Record<string, string>, service: ServiceName): number {
  return readPort(env, `${service.toUpperCase()}_PORT`, SERVICES[service].defaultPort)
}

/** One clear line instead of a service dying with EADDRINUSE (typically a second `bun run dev`). */
async function checkPortsFree(ports: { what: string; port: number }[]) {
  for (const { what, port } of ports) {
    if (await canConnect('127.0.0.1', port, 300)) {
      throw new StackError(`Port ${port} (${what}) is already in use. Stop whatever holds it (another \`bun run dev\`?) or set ${what}.`)
    }
  }
}

/** Caddy's admin API also binds a port (another Caddy on the machine may hold 2019). */
function adminPort(address: string): { what: string; port: number }[] {
  const port = Number(/:(\d+)$/.exec(address)?.[1])
  return address === 'off' || !Number.isInteger(port) ? [] : [{ what: 'CADDY_ADMIN (or set it to off)', port }]
}

let database = null as LocalPostgres | null
let redis = null as LocalRedis | null
let stack = null as Stack | null
let stopping = false

/** Caddy first (no new requests), then the services, then the stores they were using. */
async function shutdown(signal: string) {
  if (stopping) process.exit(FORCED_EXIT_CODE)
  stopping = true
  say(`${signal}: stopping…`)
  await stack?.stop()
  await Promise.all([redis?.stop(), database?.stop()])
  say('stopped')
  process.exit(0)
}

/**
 * `npm start` runs us under `sh -c`, and `kill -TERM <npm>` ends npm and that shell without
 * passing the signal on. Being adopted by another parent is the only trace of that, so it
 * counts as a stop request; otherwise the services and Caddy would keep their ports.
 */
function watchParent() {
  const parent = process.ppid
  const timer = setInterval(() => {
    if (process.ppid !== parent) void shutdown('parent exited')
  }, PARENT_CHECK_INTERVAL_MS)
  timer.unref()
}

async function main() {
  const env = devEnvironment()
  const counts = Object.fromEntries(SERVICE_NAMES.map((service) => [service, readCount(env, service)])) as Record<ServiceName, number>
  const httpPort = readPort(env, 'HTTP_PORT', DEFAULT_HTTP_PORT)
  await checkPortsFree([
    { what: 'HTTP_PORT', port: httpPort },
    ...adminPort(env.CADDY_ADMIN),
    ...SERVICE_NAMES.flatMap((service) =>
      Array.from({ length: counts[service] }, (_, i) => ({
        what: `${service.toUpperCase()}_PORT`,
        port: basePort(env, service) + i * PORT_STEP,
      })),
    ),
  ])

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void shutdown(signal))
  watchParent()

  // A Redis Cluster (REDIS_CLUSTER_NODES) is the operator's to run; only a single Redis is started here.
  if ((env.REDIS_CLUSTER_NODES ?? '').trim() === '') redis = await ensureRedis(env.REDIS_URL, join(env.DATA_DIR, 'redis'), say)
  database = await ensurePostgres(env.DATABASE_URL, join(env.DATA_DIR, 'postgres'), say)
  if (stopping) return

  // WEB_ROOT points Caddy at files built elsewhere, served as they are; otherwise web/dist is built now.
  const webRoot = env.WEB_ROOT === undefined ? { dir: join(REPO_ROOT, 'web', 'dist'), build: true } : { dir: resolve(env.WEB_ROOT), build: false }
  stack = await startStack({
    env,
    counts,
    allocatePort: (service, index) => basePort(env, service) + index * PORT_STEP,
    caddy: { httpPort, admin: env.CADDY_ADMIN, env, webRoot },
    output: { kind: 'prefix', filter: isWorthShowing },
    exitOnSignal: false,
  })
  for (const instance of stack.instances) {
    void instance.proc.exited.then((code) => {
      if (!stopping) say(`${instance.name} exited (code ${code}); Caddy routes around it, restart \`bun run dev\` to bring it back`)
    })
  }

  const publicUrl = `http://localhost:${httpPort}`
  console.log(`\nReady: ${publicUrl}`)
  console.log(`Docs:  ${await docsUrl(publicUrl, counts)}`)
  console.log(`Instances: ${stack.instances.map((instance) => `${instance.name} ${instance.url}`).join(', ')}`)
  console.log('Ctrl-C stops everything.\n')
}

/** Caddy probes every instance's /ready every 2 s; the services' access-log lines for those drown the rest. */
const READY_PROBE_LINE = /"path":"\/[a-z]+\/ready".*"status":200/

function isWorthShowing(line: string): boolean {
  return !READY_PROBE_LINE.test(line)
}

/** The combined /docs page once Caddy serves it, otherwise each service's own OpenAPI page. */
async function docsUrl(publicUrl: string, counts: Record<ServiceName, number>): Promise<string> {
  const combined = await fetch(`${publicUrl}/docs`, { signal: AbortSignal.timeout(1000) }).catch(() => null)
  if (combined?.ok) return `${publicUrl}/docs`
  return SERVICE_NAMES.filter((service) => counts[service] > 0)
    .map((service) => `${publicUrl}${SERVICES[service].prefix}/swagger`)
    .join('  ')
}

try {
  await main()
} catch (error) {
  if (error instanceof StackError || error instanceof PostgresError || error instanceof RedisError) console.error(`[dev] ${error.message}`)
  else console.error('[dev] start-up failed:', error)
  await Promise.all([redis?.stop(), database?.stop()])
  process.exit(1)
}
