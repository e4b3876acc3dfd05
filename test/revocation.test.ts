import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { waitUntil } from './wait'
import { startTestStack, type TestStack } from './harness'
import { call, expectError, login, register } from './client'

const PROPAGATION_LIMIT_MS = 1000
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
      const ttl = await redis.ttl(`auth:revoked:sid:${tokens.sessionId}`)
      expect(ttl).toBeGreaterThan(800)
      expect(ttl).toBeLessThanOrEqual(900)
    } finally {
      await redis.quit()
    }
  })
})
