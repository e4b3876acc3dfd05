import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestStack, type TestStack } from '../../test/harness'
import { call, expectError, login, register, sleep } from '../../test/client'
import { waitUntil } from '../../test/wait'

const GRACE_SECONDS = 1
let stack: TestStack
beforeAll(async () => {
  stack = await startTestStack({ env: { REFRESH_REUSE_GRACE_SECONDS: String(GRACE_SECONDS) } })
})
afterAll(() => stack?.stop())

const refresh = (refreshToken: string) => call(stack.url, 'POST', '/auth/refresh', { body: { refreshToken } })

describe('refresh-token rotation', () => {
  test('within the grace window the spent token returns the identical new pair', async () => {
    const tokens = await login(stack.url, await register(stack.url))
    const first = await refresh(tokens.refreshToken)
    const again = await refresh(tokens.refreshToken)
    expect(first.status).toBe(200)
    expect(again.status).toBe(200)
    expect(again.body).toEqual(first.body)
  })

  test('a spent token presented after the grace window revokes the session: its current tokens stop working', async () => {
    const tokens = await login(stack.url, await register(stack.url))
    const rotated = await refresh(tokens.refreshToken)
    expect(rotated.status).toBe(200)
    expect((await call(stack.url, 'GET', '/users/me', { token: rotated.body.accessToken })).status).toBe(200)

    await sleep(GRACE_SECONDS * 1000 + 300)
    expectError(await refresh(tokens.refreshToken), 401, 'REFRESH_TOKEN_REUSED')
    await waitUntil(async () => (await call(stack.url, 'GET', '/users/me', { token: rotated.body.accessToken })).status === 401, 'the session’s access token is refused')
    expectError(await call(stack.url, 'GET', '/users/me', { token: rotated.body.accessToken }), 401, 'TOKEN_REVOKED')
    expectError(await refresh(rotated.body.refreshToken), 401, 'INVALID_REFRESH_TOKEN')
  })

  test('50 concurrent refreshes of one token yield exactly one new pair', async () => {
    const tokens = await login(stack.url, await register(stack.url))
    const answers = await Promise.all(Array.from({ length: 50 }, () => refresh(tokens.refreshToken)))
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200))
    expect(new Set(answers.map((a) => a.body.refreshToken)).size).toBe(1)
    expect(new Set(answers.map((a) => a.body.accessToken)).size).toBe(1)
    const [{ count }] = await stack.sql`select count(*)::int as count from auth.refresh_tokens where session_id = ${tokens.sessionId}`
    expect(count).toBe(2)
    expect((await refresh(answers[0].body.refreshToken)).status).toBe(200)
  })

  test('an unknown or malformed refresh token is refused without touching any session', async () => {
    expectError(await refresh('not-a-token-we-issued'), 401, 'INVALID_REFRESH_TOKEN')
  })

  test('refresh tokens are stored only as hashes', async () => {
    const tokens = await login(stack.url, await register(stack.url))
    const rows = await stack.sql`select token_hash from auth.refresh_tokens where session_id = ${tokens.sessionId}`
    expect(rows).toHaveLength(1)
    expect(rows[0].token_hash.length).toBe(32)
    expect(Buffer.from(rows[0].token_hash).toString('base64url')).not.toBe(tokens.refreshToken)
  })
})
