import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { SERVICES, type Instance, type ServiceName } from '../scripts/stack'
import { call, login, register, type Account, type Answer, type Tokens } from './client'
import { startTestStack, type TestStack } from './harness'
import { whileLocked } from './locks'
import { startTcpProxy, type TcpProxy } from './tcp-proxy'
import { waitUntil } from './wait'

/**
 * Redis or Postgres out of reach answers 503 DEPENDENCY_DOWN on every service, never a 500.
 * One extra instance per service reaches both stores through TCP relays the test cuts, so
 * the stack's other instances (and every other test file) keep their stores.
 */

/** Bun 1.4.5 ignores bunfig's test timeout; starting or stopping a stack can take longer than 5 s. */
const STACK_HOOK_TIMEOUT_MS = 90_000
/** node-redis retries with a backoff capped at 2 s; Postgres reconnects on the next query. */
const RECOVERY_TIMEOUT_MS = 15_000

let stack: TestStack
let redisRelay: TcpProxy
let postgresRelay: TcpProxy
/** The instances behind the relays, by service. */
const relayed = {} as Record<ServiceName, Instance>
let account: Account
let tokens: Tokens
let roomId: string

/** `url` with its host and port replaced by the relay's. */
function through(relay: TcpProxy, url: string): string {
  const relayedUrl = new URL(url)
  relayedUrl.hostname = '127.0.0.1'
  relayedUrl.port = String(relay.port)
  return relayedUrl.toString()
}

beforeAll(async () => {
  stack = await startTestStack({ auth: 1, user: 1, chat: 1 })
  const redis = new URL(stack.redisUrl)
  const database = new URL(stack.databaseUrl)
  ;[redisRelay, postgresRelay] = await Promise.all([startTcpProxy(redis.hostname, Number(redis.port || 6379)), startTcpProxy(database.hostname, Number(database.port || 5432))])
  const env = { REDIS_URL: through(redisRelay, stack.redisUrl), DATABASE_URL: through(postgresRelay, stack.databaseUrl) }
  for (const service of ['auth', 'user', 'chat'] as const) relayed[service] = await stack.startInstance(service, { env })
  account = await register(stack.url)
  tokens = await login(stack.url, account)
  const room = await call(stack.url, 'POST', '/chat/rooms', { token: tokens.accessToken, body: { name: `deps-${crypto.randomUUID().slice(0, 8)}` } })
  expect(room.status).toBe(201)
  roomId = room.body.id
}, STACK_HOOK_TIMEOUT_MS)

afterAll(async () => {
  await stack?.stop()
  redisRelay?.stop()
  postgresRelay?.stop()
}, STACK_HOOK_TIMEOUT_MS)

/** A request straight to the relayed instance of `service`, bypassing Caddy. */
function direct(service: ServiceName, method: string, path: string, options: { token?: string; body?: unknown } = {}): Promise<Answer> {
  return call(relayed[service].url, method, path, options)
}

async function unreadyFor(store: string): Promise<void> {
  for (const service of ['auth', 'user', 'chat'] as const) {
    await waitUntil(async () => {
      const ready = await direct(service, 'GET', `${SERVICES[service].prefix}/ready`)
      return ready.status === 503 && (ready.body.details ?? []).some((detail: { field: string }) => detail.field === store)
    }, `${service} reports ${store} unreachable`)
  }
}

function expectDependencyDown(answer: Answer) {
  expect({ status: answer.status, error: answer.body.error }).toEqual({ status: 503, error: 'DEPENDENCY_DOWN' })
}

/** The calls that need each store, one per service that uses it on its request path. */
const NEEDS_REDIS = {
  'a login (its failure limits live in Redis)': () => direct('auth', 'POST', '/auth/login', { body: { login: account.username, password: account.password } }),
  'room presence': () => direct('chat', 'GET', `/chat/rooms/${roomId}/presence`, { token: tokens.accessToken }),
}
const NEEDS_POSTGRES = {
  'a login': () => direct('auth', 'POST', '/auth/login', { body: { login: account.username, password: account.password } }),
  'the list of sessions': () => direct('auth', 'GET', '/auth/sessions', { token: tokens.accessToken }),
  'the own profile': () => direct('user', 'GET', '/users/me', { token: tokens.accessToken }),
  'a registration': () => direct('user', 'POST', '/users', { body: { username: `pgdown_${crypto.randomUUID().slice(0, 8)}`, email: `pgdown_${crypto.randomUUID().slice(0, 8)}@example.com`, password: 'correct horse battery staple' } }),
  "the caller's rooms": () => direct('chat', 'GET', '/chat/rooms?mine=true', { token: tokens.accessToken }),
  'room history': () => direct('chat', 'GET', `/chat/rooms/${roomId}/messages`, { token: tokens.accessToken }),
}

describe('Redis out of reach', () => {
  test.each(Object.keys(NEEDS_REDIS))('%s answers 503 DEPENDENCY_DOWN, then works again once Redis is back', async (what) => {
    const send = NEEDS_REDIS[what as keyof typeof NEEDS_REDIS]
    expect((await send()).status).toBe(200)
    redisRelay.cut()
    try {
      await unreadyFor('redis')
      expectDependencyDown(await send())
    } finally {
      redisRelay.restore()
    }
    await waitUntil(async () => (await send()).status === 200, `${what} works again`, RECOVERY_TIMEOUT_MS)
  })
})

describe('Postgres out of reach', () => {
  test.each(Object.keys(NEEDS_POSTGRES))('%s answers 503 DEPENDENCY_DOWN, then works again once Postgres is back', async (what) => {
    const send = NEEDS_POSTGRES[what as keyof typeof NEEDS_POSTGRES]
    postgresRelay.cut()
    try {
      await unreadyFor('postgres')
      expectDependencyDown(await send())
    } finally {
      postgresRelay.restore()
    }
    await waitUntil(async () => (await send()).status < 300, `${what} works again`, RECOVERY_TIMEOUT_MS)
  })
})

describe('Postgres that does not answer in time', () => {
  /** A request of each service and a table it reads, which the test locks as a stuck transaction would. */
  const STALLED: Record<ServiceName, { table: string; path: string }> = {
    auth: { table: 'auth.sessions', path: '/auth/sessions' },
    user: { table: 'users.users', path: '/users/me' },
    chat: { table: 'chat.rooms', path: '/chat/rooms' },
  }

  async function expectDownWithin(answer: Promise<Answer>, ms: number) {
    const started = performance.now()
    expectDependencyDown(await answer)
    expect(performance.now() - started).toBeLessThan(ms)
  }

  test.each(Object.keys(STALLED) as ServiceName[])('%s answers 503 once DATABASE_STATEMENT_TIMEOUT_MS has passed, instead of waiting for good', async (service) => {
    const { table, path } = STALLED[service]
    const instance = await stack.startInstance(service, { env: { DATABASE_STATEMENT_TIMEOUT_MS: '300' } })
    await whileLocked(stack.sql, table, () => expectDownWithin(call(instance.url, 'GET', path, { token: tokens.accessToken }), 3000))
    expect((await call(instance.url, 'GET', path, { token: tokens.accessToken })).status).toBe(200)
    await stack.kill(instance, 'SIGTERM')
  })

  // Deleting a room lifts the statement timeout for its cascade, but not the wait for a lock.
  test('deleting a room waits for a lock no longer than DATABASE_STATEMENT_TIMEOUT_MS either; the room is still there', async () => {
    const instance = await stack.startInstance('chat', { env: { DATABASE_STATEMENT_TIMEOUT_MS: '300' } })
    await whileLocked(stack.sql, 'chat.rooms', () => expectDownWithin(call(instance.url, 'DELETE', `/chat/rooms/${roomId}`, { token: tokens.accessToken }), 3000))
    expect((await call(instance.url, 'GET', `/chat/rooms/${roomId}`, { token: tokens.accessToken })).status).toBe(200)
    await stack.kill(instance, 'SIGTERM')
  })
})
