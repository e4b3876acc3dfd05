import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { REDIS_CLAIM_KEY, startTestStack, type TestStack } from './harness'
import { call, expectError, login, register, type Tokens } from './client'
import { startTcpProxy } from './tcp-proxy'
import { waitUntil } from './wait'
import { openSocket } from './ws-client'
import { CLOSE } from '@chat/common/close-codes'

const PROPAGATION_LIMIT_MS = 1000
const DELETE_ALL_BUT_CLAIM = `
for _, key in ipairs(redis.call('KEYS', '*')) do
  if key ~= KEYS[1] then redis.call('DEL', key) end
end
return 0`
let stack: TestStack
beforeAll(async () => {
  stack = await startTestStack()
})
afterAll(() => stack?.stop())

const isRefused = async (baseUrl: string, token: string) => (await call(baseUrl, 'GET', '/users/me', { token })).status === 401

describe('revocation reaches every instance', () => {
  test('a second, separately started user-service instance refuses a logged-out token within a second', async () => {
    const second = await stack.startInstance('user')
    const tokens = await login(stack.url, await register(stack.url))
    expect((await call(second.url, 'GET', '/users/me', { token: tokens.accessToken })).status).toBe(200)

    expect((await call(stack.url, 'POST', '/auth/logout', { token: tokens.accessToken })).status).toBe(204)
    await waitUntil(() => isRefused(second.url, tokens.accessToken), { message: 'the second instance refuses the token', timeoutMs: PROPAGATION_LIMIT_MS })
    expectError(await call(second.url, 'GET', '/users/me', { token: tokens.accessToken }), 401, 'TOKEN_REVOKED')
  })

  test('an instance started after the revocation refuses the token too', async () => {
    const tokens = await login(stack.url, await register(stack.url))
    expect((await call(stack.url, 'POST', '/auth/logout', { token: tokens.accessToken })).status).toBe(204)
    const late = await stack.startInstance('user')
    expectError(await call(late.url, 'GET', '/users/me', { token: tokens.accessToken }), 401, 'TOKEN_REVOKED')
  })

  test('revocation entries expire with the longest access-token life', async () => {
    const tokens = await login(stack.url, await register(stack.url))
    await call(stack.url, 'POST', '/auth/logout', { token: tokens.accessToken })
    const { createClient } = await import('redis')
    const redis = createClient({ url: stack.redisUrl })
    await redis.connect()
    try {
      const ttl = await redis.ttl(`${stack.env.REDIS_PREFIX}{auth:revoked}:sid:${tokens.sessionId}`)
      expect(ttl).toBeGreaterThan(800)
      expect(ttl).toBeLessThanOrEqual(900)
    } finally {
      await redis.quit()
    }
  })
})

describe('revocation survives losing Redis', () => {
  /** FLUSHDB, but the harness's claim on the Redis DB stays, so no other test run takes the DB meanwhile. */
  const flushRedis = async () => {
    const client = new Bun.RedisClient(stack.redisUrl)
    try {
      await client.send('EVAL', [DELETE_ALL_BUT_CLAIM, '1', REDIS_CLAIM_KEY])
    } finally {
      client.close()
    }
  }

  /** How the chat instance answers a socket that authenticates with `token` (the browser's `auth` frame): `ready`, or the close code. */
  const socketOutcome = async (chatUrl: string, token: string): Promise<string> => {
    const socket = await openSocket(chatUrl)
    socket.send({ type: 'auth', token })
    const outcome = await Promise.race([
      socket.next((frame) => frame.type === 'ready').then(() => 'ready'),
      socket.closed.then(({ code }) => `closed ${code}`),
    ])
    socket.close()
    return outcome
  }

  test('after Redis loses every key, freshly started user and chat instances still refuse logged-out and deleted-account tokens', async () => {
    const loggedOut = await login(stack.url, await register(stack.url))
    expect((await call(stack.url, 'POST', '/auth/logout', { token: loggedOut.accessToken })).status).toBe(204)
    const account = await register(stack.url)
    const deleted = await login(stack.url, account)
    expect((await call(stack.url, 'DELETE', '/users/me', { token: deleted.accessToken, body: { password: account.password } })).status).toBe(204)

    await flushRedis()
    const [user, chat] = await Promise.all([stack.startInstance('user'), stack.startInstance('chat')])
    for (const token of [loggedOut.accessToken, deleted.accessToken]) {
      expectError(await call(user.url, 'GET', '/users/me', { token }), 401, 'TOKEN_REVOKED')
      expect(await socketOutcome(chat.url, token)).toBe(`closed ${CLOSE.REVOKED}`)
    }
    // A token never revoked still works there: the instances are not refusing everything.
    const live = await login(stack.url, await register(stack.url))
    expect((await call(user.url, 'GET', '/users/me', { token: live.accessToken })).status).toBe(200)
    expect(await socketOutcome(chat.url, live.accessToken)).toBe('ready')
  })

  test('an instance that was cut off from Redis while a revocation was announced and the keys were lost refuses the token once it reconnects', async () => {
    const redisUrl = new URL(stack.redisUrl)
    const proxy = await startTcpProxy(redisUrl.hostname, Number(redisUrl.port))
    try {
      redisUrl.port = String(proxy.port)
      const user = await stack.startInstance('user', { env: { REDIS_URL: redisUrl.toString() } })
      const tokens = await login(stack.url, await register(stack.url))
      expect((await call(user.url, 'GET', '/users/me', { token: tokens.accessToken })).status).toBe(200)

      proxy.cut()
      expect((await call(stack.url, 'POST', '/auth/logout', { token: tokens.accessToken })).status).toBe(204)
      await flushRedis()
      expect((await call(user.url, 'GET', '/users/me', { token: tokens.accessToken })).status).toBe(200)
      proxy.restore()
      await waitUntil(async () => (await call(user.url, 'GET', '/users/me', { token: tokens.accessToken })).status === 401, 'the reconnected instance refuses the token')
    } finally {
      proxy.stop()
    }
  })

  test('a logout on an auth instance cut off from Redis still succeeds, and other instances refuse the token at their next periodic reload', async () => {
    const redisUrl = new URL(stack.redisUrl)
    const proxy = await startTcpProxy(redisUrl.hostname, Number(redisUrl.port))
    try {
      redisUrl.port = String(proxy.port)
      const auth = await stack.startInstance('auth', { env: { REDIS_URL: redisUrl.toString() } })
      const user = await stack.startInstance('user', { env: { REVOCATION_RESYNC_INTERVAL_MS: '1000' } })
      const account = await register(stack.url)
      const tokens = (await call(auth.url, 'POST', '/auth/login', { body: { login: account.username, password: account.password } })).body as Tokens
      expect((await call(user.url, 'GET', '/users/me', { token: tokens.accessToken })).status).toBe(200)

      proxy.cut()
      expect((await call(auth.url, 'POST', '/auth/logout', { token: tokens.accessToken })).status).toBe(204)
      await waitUntil(async () => (await call(user.url, 'GET', '/users/me', { token: tokens.accessToken })).status === 401, 'the user instance refuses the token')
      expectError(await call(stack.url, 'POST', '/auth/refresh', { body: { refreshToken: tokens.refreshToken } }), 401, 'INVALID_REFRESH_TOKEN')
    } finally {
      proxy.stop()
    }
  })

  test('an instance that cannot reach auth at start-up starts anyway after a bounded wait, and keeps trying until it has the revocations', async () => {
    const tokens = await login(stack.url, await register(stack.url))
    expect((await call(stack.url, 'POST', '/auth/logout', { token: tokens.accessToken })).status).toBe(204)
    await flushRedis()
    const authUrl = new URL(stack.instancesOf('auth')[0].url)
    const proxy = await startTcpProxy(authUrl.hostname, Number(authUrl.port))
    try {
      proxy.cut()
      const user = await stack.startInstance('user', {
        env: { AUTH_INTERNAL_URL: `http://127.0.0.1:${proxy.port}`, REVOCATION_FIRST_LOAD_TIMEOUT_MS: '300', REVOCATION_RELOAD_RETRY_MS: '200' },
      })
      proxy.restore()
      await waitUntil(async () => (await call(user.url, 'GET', '/users/me', { token: tokens.accessToken })).status === 401, 'the instance refuses the token')
      expect(await Bun.file(`${stack.logDir}/${user.name}.log`).text()).toContain('first load not finished in time')
    } finally {
      proxy.stop()
    }
  })

  test('the list of revocations in force is an internal route that needs the internal token', async () => {
    const authUrl = stack.instancesOf('auth')[0].url
    expectError(await call(authUrl, 'GET', '/internal/revocations'), 403, 'FORBIDDEN')
    const tokens = await login(stack.url, await register(stack.url))
    await call(stack.url, 'POST', '/auth/logout', { token: tokens.accessToken })
    const listed = await call(authUrl, 'GET', '/internal/revocations', { headers: { 'x-internal-token': stack.internalToken } })
    expect(listed.status).toBe(200)
    const entry = (listed.body as unknown as { sessionId: string; expiresAt: number }[]).find((item) => item.sessionId === tokens.sessionId)
    expect(entry?.expiresAt).toBeGreaterThan(Date.now())
    // Caddy does not route it.
    expect((await call(stack.url, 'GET', '/internal/revocations', { headers: { 'x-internal-token': stack.internalToken } })).status).toBe(404)
  })
})

describe('REDIS_PREFIX', () => {
  const PREFIX = 'stack-a:'
  let prefixed: TestStack
  beforeAll(async () => {
    prefixed = await startTestStack({ env: { REDIS_PREFIX: PREFIX } })
  })
  afterAll(() => prefixed?.stop())

  test('revocation keys and events, login and re-authentication counters and registration counters all carry the prefix', async () => {
    const { createClient } = await import('redis')
    const redis = createClient({ url: prefixed.redisUrl })
    const subscriber = redis.duplicate()
    await Promise.all([redis.connect(), subscriber.connect()])
    try {
      const heard: string[] = []
      await subscriber.subscribe(`${PREFIX}auth:revocations`, (message) => void heard.push(message))
      const account = await register(prefixed.url)
      expectError(await call(prefixed.url, 'POST', '/auth/login', { body: { login: account.username, password: 'a wrong password' } }), 401)
      const tokens = await login(prefixed.url, account)
      expectError(await call(prefixed.url, 'PUT', '/auth/password', { token: tokens.accessToken, body: { currentPassword: 'wrong', newPassword: 'a brand new long passphrase' } }), 403)
      expect((await call(prefixed.url, 'POST', '/auth/logout', { token: tokens.accessToken })).status).toBe(204)
      await waitUntil(() => heard.some((message) => message.includes(tokens.sessionId)), 'the revocation is announced on the prefixed channel')

      const keys = await redis.keys('*')
      expect(keys).toContain(`${PREFIX}{auth:revoked}:sid:${tokens.sessionId}`)
      // The per-account counter was reset by the successful login; the per-IP one stays.
      expect(keys.some((key) => key.startsWith(`${PREFIX}auth:login-failures:ip:`))).toBe(true)
      expect(keys.some((key) => key.startsWith(`${PREFIX}auth:reauth-failures:`))).toBe(true)
      expect(keys.some((key) => key.startsWith(`${PREFIX}user:registrations:ip:`))).toBe(true)
      // Nothing else but the test harness's own claim on the Redis DB.
      expect(keys.filter((key) => !key.startsWith(PREFIX) && key !== REDIS_CLAIM_KEY)).toEqual([])
    } finally {
      await Promise.all([subscriber.quit(), redis.quit()])
    }
  })
})
