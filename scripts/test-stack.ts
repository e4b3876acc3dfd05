import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { connect as netConnect } from 'node:net'
import { join } from 'node:path'
import postgres from 'postgres'
import { BaseConfig } from '@chat/common/config'
import { createDb, type Sql } from '@chat/common/db'
import { findFreePorts } from './net'
import { startStack, type Instance, type ServiceName, type Stack } from './stack'
import { removeStaleWorkDirs } from './work-dirs'

/** The machine's own servers; every test stack gets a database and a Redis DB number of its own on them. */
const BASE_DATABASE_URL = process.env.TEST_DATABASE_URL ?? BaseConfig.properties.DATABASE_URL.default
const BASE_REDIS_URL = process.env.TEST_REDIS_URL ?? BaseConfig.properties.REDIS_URL.default
const DATABASE_PREFIX = 'chat_test_'
/** A test database's name: the prefix, its creation time in seconds, a random suffix. */
const DATABASE_CREATED_AT = new RegExp(`^${DATABASE_PREFIX}(\\d+)_`)
/** Databases left behind by a killed run are dropped by a later one, once surely unused. */
const STALE_DATABASE_AGE_SECONDS = 2 * 60 * 60
/** Redis DB 0 is left to development; 1–15 exist on a default server. */
const REDIS_TEST_DBS = Array.from({ length: 15 }, (_, i) => i + 1)
export const REDIS_CLAIM_KEY = 'chat-test:claimed-by'
/** A crashed run's claim expires on its own, long after any test file finishes. */
const REDIS_CLAIM_SECONDS = 60 * 60
/** One-shot connections for the claim and the release: fail fast rather than retry in the background. */
const REDIS_ADMIN_OPTIONS = { autoReconnect: false, connectionTimeout: 3000 }
/** `requestFrom` gives up on a silent server after this long, well inside a test's timeout. */
const RAW_REQUEST_TIMEOUT_MS = 10_000
/** Each stack's logs stay after `stop` for reading after a failure, for this long. */
const WORK_DIR_PREFIX = 'chat-stack-'
const STALE_WORK_DIR_MS = 60 * 60 * 1000

export type TestStackOptions = {
  /** Instances per service; default one auth, one user, no chat. */
  auth?: number
  user?: number
  chat?: number
  /** Put Caddy in front (default true); `url` is only available with it. */
  caddy?: boolean
  /** Extra environment for every instance, e.g. shorter token lifetimes. */
  env?: Record<string, string>
  /**
   * A Redis Cluster the test started (test/redis-cluster.ts): its seed nodes become
   * REDIS_CLUSTER_NODES, and no Redis DB is claimed; the stack's own REDIS_PREFIX keeps it
   * apart from anything else on that cluster.
   */
  redisCluster?: { seeds: string }
  /**
   * The Postgres server the stack's database is created on (a URL of any database there),
   * default the machine's (TEST_DATABASE_URL); with `replicaUrl`, a streaming replica of it,
   * which the chat instances get as DATABASE_REPLICA_URL (same database name).
   */
  postgres?: { url: string; replicaUrl?: string }
  /** Where Caddy writes its access log (its CADDY_ACCESS_LOG, e.g. `file /tmp/x.log`); default: nowhere. */
  caddyAccessLog?: string
}

export type TestStack = {
  /** Caddy's public URL, e.g. http://127.0.0.1:41234. */
  readonly url: string
  instances: Instance[]
  /** The running instances of one service, in start order. */
  instancesOf(service: ServiceName): Instance[]
  databaseUrl: string
  redisUrl: string
  /** A small pool on this stack's database, for arranging and checking state. Closed by `stop`. */
  sql: Sql
  internalToken: string
  dataDir: string
  logDir: string
  /** REDIS_CLUSTER_NODES when the stack runs on a Redis Cluster, else null. */
  redisClusterNodes: string | null
  /** Environment every instance got, for starting look-alike processes. */
  env: Record<string, string>
  startInstance: Stack['startInstance']
  kill: Stack['kill']
  /** Stops every process, drops the database and empties the Redis DB. */
  stop(): Promise<void>
}

/**
 * A complete, isolated stack for one test file: its own database, Redis DB number,
 * ports, secrets and data folder, so test files (and a developer's `bun run dev`) never
 * see each other's state. Call in `beforeAll`, and `stop` in `afterAll`.
 */
export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  const counts = { auth: options.auth ?? 1, user: options.user ?? 1, chat: options.chat ?? 0 }
  const withCaddy = options.caddy ?? true
  const instanceCount = counts.auth + counts.user + counts.chat
  const [database, claim, freePorts, work] = await Promise.allSettled([
    createTestDatabase(options.postgres?.url ?? BASE_DATABASE_URL),
    options.redisCluster === undefined ? claimRedisDb() : Promise.resolve(clusterInsteadOfDb(options.redisCluster.seeds)),
    findFreePorts(instanceCount + 1),
    mkdtemp(join(tmpdir(), WORK_DIR_PREFIX)),
    removeStaleWorkDirs(WORK_DIR_PREFIX, STALE_WORK_DIR_MS),
  ])
  if (database.status === 'rejected' || claim.status === 'rejected' || freePorts.status === 'rejected' || work.status === 'rejected') {
    // Undo whichever half succeeded, then report the first failure.
    if (database.status === 'fulfilled') await dropTestDatabase(database.value)
    if (claim.status === 'fulfilled') await claim.value.release()
    if (work.status === 'fulfilled') await rm(work.value, { recursive: true, force: true })
    throw [database, claim, freePorts, work].find((result) => result.status === 'rejected')!.reason
  }
  const [databaseUrl, redis, ports, workDir] = [database.value, claim.value, freePorts.value, work.value]
  const caddyPort = ports.pop()!
  const dataDir = join(workDir, 'data')
  const logDir = join(workDir, 'logs')
  const webRoot = join(workDir, 'web')
  // Logs stay for reading after a failure; the database, the Redis DB, keys, secrets and the built web files do not.
  const cleanUp = () =>
    Promise.all([dropTestDatabase(databaseUrl), redis.release(), ...[dataDir, webRoot].map((dir) => rm(dir, { recursive: true, force: true }))])
  await Promise.all([mkdir(dataDir), mkdir(logDir)])

  const url = `http://127.0.0.1:${caddyPort}`
  const internalToken = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: process.env.HOME ?? workDir,
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'info',
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    REDIS_URL: redis.url,
    ...(options.redisCluster === undefined ? {} : { REDIS_CLUSTER_NODES: options.redisCluster.seeds }),
    // Pub/sub channels ignore DB numbers: without a prefix of its own a stack would hear another's events.
    REDIS_PREFIX: `t${crypto.randomUUID().slice(0, 8)}:`,
    INTERNAL_TOKEN: internalToken,
    DATA_DIR: dataDir,
    PUBLIC_ORIGIN: url,
    // Links in mails point at this stack's Caddy.
    PUBLIC_URL: url,
    // Every test registers and logs in from 127.0.0.1, and benches and polling tests search
    // as fast as they can; each limit's own test sets a low one.
    REGISTRATION_MAX_PER_IP: '1000000',
    LOGIN_MAX_PER_IP_PER_MINUTE: '1000000',
    SEARCH_MAX_PER_MINUTE_PER_USER: '1000000',
    ...(options.postgres?.replicaUrl === undefined ? {} : { DATABASE_REPLICA_URL: onServer(options.postgres.replicaUrl, databaseUrl) }),
    ...options.env,
  }

  let stack: Stack
  try {
    stack = await startStack({
      env,
      counts,
      allocatePort: async () => ports.shift() ?? (await findFreePorts(1))[0],
      caddy: withCaddy
        ? {
            httpPort: caddyPort,
            admin: 'off',
            env: {
              PATH: env.PATH,
              HOME: workDir,
              XDG_CONFIG_HOME: workDir,
              XDG_DATA_HOME: workDir,
              // The services log every request already; set TEST_CADDY_ACCESS_LOG=stdout to see Caddy's view too.
              CADDY_ACCESS_LOG: options.caddyAccessLog ?? process.env.TEST_CADDY_ACCESS_LOG ?? 'discard',
            },
            // Built afresh per stack (it takes milliseconds), so no test serves another run's files.
            webRoot: { dir: webRoot, build: true },
          }
        : null,
      output: { kind: 'files', dir: logDir },
    })
  } catch (error) {
    await cleanUp()
    throw error
  }

  const sql = createDb(databaseUrl, { max: 4 })
  return {
    get url() {
      if (!withCaddy) throw new Error('This test stack was started with caddy: false')
      return url
    },
    instances: stack.instances,
    instancesOf: (service) => stack.instances.filter((instance) => instance.service === service),
    databaseUrl,
    redisUrl: redis.url,
    redisClusterNodes: options.redisCluster?.seeds ?? null,
    sql,
    internalToken,
    dataDir,
    logDir,
    env,
    startInstance: stack.startInstance,
    kill: stack.kill,
    async stop() {
      await stack.stop()
      await sql.end({ timeout: 5 })
      await cleanUp()
    },
  }
}

/** `databaseUrl`'s database on the server of `serverUrl`. */
function onServer(serverUrl: string, databaseUrl: string): string {
  const url = new URL(serverUrl)
  url.pathname = new URL(databaseUrl).pathname
  return url.toString()
}

async function createTestDatabase(serverUrl: string): Promise<string> {
  const admin = postgres(serverUrl, { max: 1, connect_timeout: 5, onnotice: () => {} })
  try {
    await dropStaleDatabases(admin)
    const name = `${DATABASE_PREFIX}${Math.floor(Date.now() / 1000)}_${crypto.randomUUID().slice(0, 8)}`
    await admin.unsafe(`create database "${name}"`)
    const url = new URL(serverUrl)
    url.pathname = `/${name}`
    return url.toString()
  } catch (error) {
    throw new Error(`Tests need Postgres at ${new URL(serverUrl).host} (TEST_DATABASE_URL): ${(error as Error).message}`)
  } finally {
    await admin.end()
  }
}

/** The name carries its creation time, so age is known without any bookkeeping table. */
async function dropStaleDatabases(admin: postgres.Sql) {
  const rows = await admin`select datname from pg_database where datname like ${DATABASE_PREFIX + '%'}`
  const cutoff = Date.now() / 1000 - STALE_DATABASE_AGE_SECONDS
  for (const { datname } of rows) {
    const createdAt = Number(DATABASE_CREATED_AT.exec(datname)?.[1] ?? Infinity)
    if (createdAt < cutoff) await admin.unsafe(`drop database if exists "${datname}" with (force)`).catch(() => {})
  }
}

/** Drops a test database, e.g. one a killed process left behind (from its own server's `postgres` database). */
export async function dropTestDatabase(databaseUrl: string) {
  const name = new URL(databaseUrl).pathname.slice(1)
  const admin = postgres(onServer(databaseUrl, 'postgres:///postgres'), { max: 1, onnotice: () => {} })
  try {
    await admin.unsafe(`drop database if exists "${name}" with (force)`)
  } finally {
    await admin.end()
  }
}

/**
 * Claims a Redis DB number nobody else is using (another test file, another test run on
 * the same machine, or a bench) with a key that expires on its own, and empties everything
 * else in it. `release` empties it again.
 */
export async function claimRedisDb(): Promise<{ url: string; release(): Promise<void> }> {
  const owner = crypto.randomUUID()
  const candidates = [...REDIS_TEST_DBS].sort(() => Math.random() - 0.5)
  for (const db of candidates) {
    const url = `${BASE_REDIS_URL.replace(/\/\d*$/, '')}/${db}`
    const client = new Bun.RedisClient(url, REDIS_ADMIN_OPTIONS)
    try {
      const claimed = await client.send('SET', [REDIS_CLAIM_KEY, owner, 'NX', 'EX', String(REDIS_CLAIM_SECONDS)])
      if (claimed !== 'OK') continue
      await client.send('EVAL', [CLEAR_ALL_BUT_CLAIM, '1', REDIS_CLAIM_KEY])
    } catch (error) {
      throw new Error(`Tests need Redis at ${new URL(BASE_REDIS_URL).host} (TEST_REDIS_URL): ${(error as Error).message}`)
    } finally {
      client.close()
    }
    return { url, release: () => releaseRedisDb(url) }
  }
  throw new Error(`Every Redis DB ${REDIS_TEST_DBS[0]}–${REDIS_TEST_DBS.at(-1)} on ${BASE_REDIS_URL} is claimed by another test run`)
}

/**
 * A stack on a cluster claims no DB (a cluster has only DB 0) and leaves the cluster to
 * whoever started it; `url` names its first node, for tests that look at one node.
 */
function clusterInsteadOfDb(seeds: string): { url: string; release(): Promise<void> } {
  return { url: `redis://${seeds.split(',')[0].trim().replace(/^rediss?:\/\//, '')}`, release: async () => {} }
}

/** Empties a claimed Redis DB, its claim included, so the next run can have it. */
export async function releaseRedisDb(url: string): Promise<void> {
  const client = new Bun.RedisClient(url, REDIS_ADMIN_OPTIONS)
  try {
    await client.send('FLUSHDB', [])
  } finally {
    client.close()
  }
}

/** Atomic, so no other run can claim the DB between the claim and the clean-up. */
const CLEAR_ALL_BUT_CLAIM = `
for _, key in ipairs(redis.call('KEYS', '*')) do
  if key ~= KEYS[1] then redis.call('DEL', key) end
end
return 0`

export type RawResponse = { status: number; headers: Headers; text: string; json<T = unknown>(): T }

/**
 * An HTTP/1.1 request sent from a chosen local address (any 127.x.y.z is loopback on
 * Linux), so a test can be a client that is not Caddy's own 127.0.0.1: client-IP
 * forwarding and per-IP limits are only observable that way. `fetch` cannot bind.
 */
export function requestFrom(
  localAddress: string,
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawResponse> {
  const target = new URL(url)
  // The path is sent exactly as given (`/a/../b` stays), unlike fetch, which normalises it.
  const path = url.slice(target.origin.length) || '/'
  const body = init.body === undefined ? undefined : Buffer.from(init.body)
  const lowerNames = Object.keys(init.headers ?? {}).map((name) => name.toLowerCase())
  const headers: Record<string, string> = {
    host: target.host,
    connection: 'close',
    ...(body === undefined || lowerNames.includes('transfer-encoding') ? {} : { 'content-length': String(body.length) }),
    ...init.headers,
  }
  const head = [`${init.method ?? 'GET'} ${path} HTTP/1.1`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)]
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const socket = netConnect({ host: target.hostname, port: Number(target.port), localAddress }, () => {
      socket.write(head.join('\r\n') + '\r\n\r\n')
      if (body !== undefined) socket.write(body)
    })
    socket.setTimeout(RAW_REQUEST_TIMEOUT_MS, () => socket.destroy(new Error(`no answer from ${url} within ${RAW_REQUEST_TIMEOUT_MS} ms`)))
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('end', () => {
      try {
        resolve(parseResponse(Buffer.concat(chunks)))
      } catch (error) {
        reject(error)
      }
    })
  })
}

function parseResponse(raw: Buffer): RawResponse {
  let rest = raw
  let lines: string[]
  // Skip interim answers such as `100 Continue`.
  for (;;) {
    const end = rest.indexOf('\r\n\r\n')
    if (end === -1) throw new Error('Malformed HTTP response: no end of headers')
    lines = rest.subarray(0, end).toString('latin1').split('\r\n')
    rest = rest.subarray(end + 4)
    if (!/^HTTP\/1\.[01] 1\d\d /.test(lines[0])) break
  }
  const status = Number(lines[0].split(' ')[1])
  const headers = new Headers()
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':')
    headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim())
  }
  const text = (headers.get('transfer-encoding')?.includes('chunked') ? decodeChunked(rest) : rest).toString('utf8')
  return { status, headers, text, json: <T>() => JSON.parse(text) as T }
}

function decodeChunked(raw: Buffer): Buffer {
  const parts: Buffer[] = []
  let at = 0
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', at)
    const size = parseInt(raw.subarray(at, lineEnd).toString('latin1'), 16)
    if (!(size > 0)) return Buffer.concat(parts)
    parts.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size))
    at = lineEnd + 2 + size + 2
  }
}
