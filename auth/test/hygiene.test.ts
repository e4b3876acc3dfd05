import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestStack, type TestStack } from '../../test/harness'
import { call, expectError, login, register, type Answer, type Tokens } from '../../test/client'
import { waitUntil } from '../../test/wait'

let stack: TestStack
beforeAll(async () => {
  stack = await startTestStack()
})
afterAll(() => stack?.stop())

const MAX_SESSIONS_PER_USER = 50
const isRefused = async (token: string) => (await call(stack.url, 'GET', '/users/me', { token })).status === 401

describe('session hygiene', () => {
  test('a periodic sweep deletes ended sessions, old spent refresh tokens, expired revocations, mailed tokens and two-factor challenges, and keeps what is live', async () => {
    const account = await register(stack.url)
    const live = await login(stack.url, account)
    const revoked = await login(stack.url, account)
    await call(stack.url, 'POST', '/auth/logout', { token: revoked.accessToken })
    const expired = crypto.randomUUID()
    const oldRevocation = crypto.randomUUID()
    const oldSpentToken = Buffer.from(crypto.getRandomValues(new Uint8Array(32)))
    await stack.sql`
      insert into auth.sessions (id, user_id, created_at, expires_at)
      values (${expired}, ${account.id}, now() - interval '31 days', now() - interval '1 day')`
    await stack.sql`
      insert into auth.refresh_tokens (token_hash, session_id, created_at, spent_at)
      values (${oldSpentToken}, ${live.sessionId}, now() - interval '30 days', now() - interval '30 days')`
    await stack.sql`insert into auth.revocations (session_id, reason, expires_at) values (${oldRevocation}, 'logout', now() - interval '1 minute')`
    const oldMailedToken = Buffer.from(crypto.getRandomValues(new Uint8Array(32)))
    await stack.sql`
      insert into auth.email_tokens (token_hash, user_id, purpose, email, expires_at)
      values (${oldMailedToken}, ${account.id}, 'reset_password', ${account.email}, now() - interval '1 minute')`
    const oldChallenge = Buffer.from(crypto.getRandomValues(new Uint8Array(32)))
    await stack.sql`
      insert into auth.mfa_challenges (token_hash, user_id, expires_at) values (${oldChallenge}, ${account.id}, now() - interval '1 minute')`
    const count = async (table: string, column: string, id: string | Buffer) =>
      (await stack.sql<{ count: number }[]>`select count(*)::int as count from ${stack.sql(table)} where ${stack.sql(column)} = ${id}`)[0].count

    // An extra auth instance sweeping every second does the job.
    await stack.startInstance('auth', { env: { CLEANUP_INTERVAL_SECONDS: '1' } })
    await waitUntil(
      async () =>
        (await count('auth.sessions', 'id', expired)) === 0 &&
        (await count('auth.sessions', 'id', revoked.sessionId)) === 0 &&
        (await count('auth.refresh_tokens', 'token_hash', oldSpentToken)) === 0 &&
        (await count('auth.revocations', 'session_id', oldRevocation)) === 0 &&
        (await count('auth.email_tokens', 'token_hash', oldMailedToken)) === 0 &&
        (await count('auth.mfa_challenges', 'token_hash', oldChallenge)) === 0,
      'the sweep has removed the ended rows',
    )
    // The live session and its refresh token work; the revoked one stays refused.
    expect(await count('auth.sessions', 'id', live.sessionId)).toBe(1)
    // The registration's verification link is unexpired: it stays.
    expect(await count('auth.email_tokens', 'user_id', account.id)).toBe(1)
    expect((await call(stack.url, 'POST', '/auth/refresh', { body: { refreshToken: live.refreshToken } })).status).toBe(200)
    expect(await count('auth.revocations', 'session_id', revoked.sessionId)).toBe(1)
    expectError(await call(stack.url, 'GET', '/users/me', { token: revoked.accessToken }), 401, 'TOKEN_REVOKED')
  })

  test('the 51st session of a user revokes the oldest one', async () => {
    const account = await register(stack.url)
    const sessions: Tokens[] = []
    for (let i = 0; i < MAX_SESSIONS_PER_USER + 1; i++) sessions.push(await login(stack.url, account))
    const [oldest, second] = sessions
    await waitUntil(() => isRefused(oldest.accessToken), 'the oldest session is refused')
    expectError(await call(stack.url, 'POST', '/auth/refresh', { body: { refreshToken: oldest.refreshToken } }), 401, 'INVALID_REFRESH_TOKEN')
    expect((await call(stack.url, 'GET', '/users/me', { token: second.accessToken })).status).toBe(200)
    const listed = await call(stack.url, 'GET', '/auth/sessions', { token: sessions.at(-1)!.accessToken })
    expect(listed.body).toHaveLength(MAX_SESSIONS_PER_USER)
  })

  test('logins racing account deletion get nothing usable: every token they got is refused afterwards, and none fails with 500', async () => {
    const account = await register(stack.url)
    const owner = await login(stack.url, account)
    const attempt = () => call(stack.url, 'POST', '/auth/login', { body: { login: account.username, password: account.password } })
    const early = Array.from({ length: 12 }, attempt)
    const deletion = call(stack.url, 'DELETE', '/users/me', { token: owner.accessToken, body: { password: account.password } })
    const late = Array.from({ length: 12 }, attempt)
    const answers: Answer[] = await Promise.all([...early, ...late])
    expect((await deletion).status).toBe(204)

    // 401 once the credential is gone, 429 once those 401s reach the per-account limit.
    for (const answer of answers) expect([200, 401, 429]).toContain(answer.status)
    const tokens = answers.filter((answer) => answer.status === 200).map((answer) => answer.body as Tokens)
    await waitUntil(async () => (await Promise.all(tokens.map((t) => isRefused(t.accessToken)))).every(Boolean), 'every token from the race is refused')
    for (const t of tokens) {
      expectError(await call(stack.url, 'POST', '/auth/refresh', { body: { refreshToken: t.refreshToken } }), 401, 'INVALID_REFRESH_TOKEN')
    }
    const [{ count }] = await stack.sql`select count(*)::int as count from auth.sessions where user_id = ${account.id}`
    expect(count).toBe(0)
  })
})
