import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestStack, type TestStack } from './harness'
import { call, expectError, login, register, sleep } from './client'

const PROPAGATION_LIMIT_MS = 1000
let stack: TestStack
beforeAll(async () => {
  stack = await startTestStack()
})
afterAll(() => stack?.stop())

/** Polls until `path` on `baseUrl` answers 401 for `token`, returning how long it took. */
async function msUntilRefused(baseUrl: string, token: string, limitMs: number): Promise<number> {
  const started = performance.now()
  while (performance.now() - started < limitMs) {
    if ((await call(baseUrl, 'GET', '/users/me', { token })).status === 401) return performance.now() - started
    await sleep(20)
  }
  return Infinity
}

describe('revocation reaches every instance', () => {
  test('a second, separately started user-service instance refuses a logged-out token within a second', async () => {
    const second = await stack.startInstance('user')
    const tokens = await login(stack.url, await register(stack.url))
    expect((await call(second.url, 'GET', '/users/me', { token: tokens.accessToken })).status).toBe(200)

    expect((await call(stack.url, 'POST', '/auth/logout', { token: tokens.accessToken })).status).toBe(204)
    expect(await msUntilRefused(second.url, tokens.accessToken, PROPAGATION_LIMIT_MS)).toBeLessThan(PROPAGATION_LIMIT_MS)
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
      const ttl = await redis.ttl(`auth:revoked:sid:${tokens.sessionId}`)
      expect(ttl).toBeGreaterThan(800)
      expect(ttl).toBeLessThanOrEqual(900)
    } finally {
      await redis.quit()
    }
  })
})
