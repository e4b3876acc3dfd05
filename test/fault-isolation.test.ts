import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { call, login, register } from './client'
import { startTestStack, type TestStack } from './harness'
import { waitUntil } from './wait'

// Service-to-service calls (credentials, user look-ups, key sets) go to every instance of the
// peer, not to the first one only: losing one instance of auth or user must not break the
// services that call it.

/**
 * Caddy 2.6 cannot resend a request body after a failed attempt, so POSTs that meet the
 * dead instance get 503 until Caddy's health check (every 2 s) takes it out of rotation.
 */
const CADDY_NOTICES_MS = 3000
/** Enough calls that each caller instance starts its rotation on each peer instance at least once. */
const CALLS_PER_CHECK = 4

let stack: TestStack

const loginAnswer = (account: { username: string; password: string }) =>
  call(stack.url, 'POST', '/auth/login', { body: { login: account.username, password: account.password } })

beforeAll(async () => {
  stack = await startTestStack({ auth: 2, user: 2, chat: 1 })
})

afterAll(async () => {
  await stack?.stop()
})

describe('with one of two auth instances killed', () => {
  test('registration, login and a fresh user instance’s first authenticated request keep working', async () => {
    await stack.kill(stack.instancesOf('auth')[0])
    const probe = await register(stack.url)
    await waitUntil(async () => (await loginAnswer(probe)).status === 200, 'Caddy routes logins around the dead auth instance', CADDY_NOTICES_MS)

    for (let i = 0; i < CALLS_PER_CHECK; i++) {
      const account = await register(stack.url)
      const tokens = await login(stack.url, account)
      expect((await call(stack.url, 'GET', '/users/me', { token: tokens.accessToken })).status).toBe(200)
    }

    // A new instance knows no key yet: its first authenticated request fetches the key set.
    const fresh = await stack.startInstance('user')
    const tokens = await login(stack.url, await register(stack.url))
    const me = await call(fresh.url, 'GET', '/users/me', { token: tokens.accessToken })
    expect({ status: me.status, error: me.body.error }).toEqual({ status: 200, error: undefined })
  }, 60_000)
})

describe('with one of two user instances killed', () => {
  test('chat still checks that a user exists when adding a member and opening a DM', async () => {
    const owner = await login(stack.url, await register(stack.url))
    const room = await call(stack.url, 'POST', '/chat/rooms', { token: owner.accessToken, body: { name: 'fault isolation' } })
    expect(room.status).toBe(201)
    const others = await Promise.all(Array.from({ length: CALLS_PER_CHECK }, () => register(stack.url)))
    await stack.kill(stack.instancesOf('user')[0])

    for (const other of others) {
      const added = await call(stack.url, 'POST', `/chat/rooms/${room.body.id}/members`, { token: owner.accessToken, body: { userId: other.id } })
      expect({ status: added.status, error: added.body.error }).toEqual({ status: 204, error: undefined })
      const dm = await call(stack.url, 'POST', '/chat/dms', { token: owner.accessToken, body: { userId: other.id } })
      expect({ status: dm.status, error: dm.body.error }).toEqual({ status: 200, error: undefined })
    }
  }, 60_000)
})
