import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestStack, type TestStack } from './harness'
import { call, expectError, login, register } from './client'
import { waitUntil } from './wait'

let stack: TestStack
beforeAll(async () => {
  stack = await startTestStack()
})
afterAll(() => stack?.stop())

/** Revocation reaches the user service through Redis: wait for that, not for a fixed time. */
const isRefused = async (token: string) => (await call(stack.url, 'GET', '/users/me', { token })).status === 401

describe('identity flow through Caddy', () => {
  test('register, log in, read me, refresh, log out: the old access token and the old refresh token are refused', async () => {
    const account = await register(stack.url, { displayName: 'Ada Lovelace' })
    const tokens = await login(stack.url, account)
    // (Bun's toMatchObject writes asymmetric matchers into the received object, so plain checks.)
    expect([tokens.tokenType, tokens.expiresIn, typeof tokens.sessionId]).toEqual(['Bearer', 900, 'string'])

    const me = await call(stack.url, 'GET', '/users/me', { token: tokens.accessToken })
    expect(me.status).toBe(200)
    expect(me.body).toMatchObject({ id: account.id, username: account.username, email: account.email, displayName: 'Ada Lovelace' })

    const refreshed = await call(stack.url, 'POST', '/auth/refresh', { body: { refreshToken: tokens.refreshToken } })
    expect(refreshed.status).toBe(200)
    expect(refreshed.body.refreshToken).not.toBe(tokens.refreshToken)
    expect(refreshed.body.sessionId).toBe(tokens.sessionId)

    const next = refreshed.body.accessToken as string
    expect((await call(stack.url, 'GET', '/users/me', { token: next })).status).toBe(200)
    expect((await call(stack.url, 'POST', '/auth/logout', { token: next })).status).toBe(204)

    await waitUntil(() => isRefused(next), 'the logged-out token is refused')
    expectError(await call(stack.url, 'GET', '/users/me', { token: next }), 401, 'TOKEN_REVOKED')
    expectError(await call(stack.url, 'GET', '/users/me', { token: tokens.accessToken }), 401, 'TOKEN_REVOKED')
    expectError(await call(stack.url, 'POST', '/auth/refresh', { body: { refreshToken: refreshed.body.refreshToken } }), 401, 'INVALID_REFRESH_TOKEN')
  })

  test('login accepts the email or the username in any letter case', async () => {
    const account = await register(stack.url)
    for (const loginName of [account.username.toUpperCase(), account.email.toUpperCase()]) {
      const answer = await call(stack.url, 'POST', '/auth/login', { body: { login: loginName, password: account.password } })
      expect(answer.status).toBe(200)
    }
  })

  test('usernames and emails are unique regardless of case', async () => {
    const account = await register(stack.url)
    const sameName = await call(stack.url, 'POST', '/users', {
      body: { username: account.username.toUpperCase(), email: 'other-' + account.email, password: account.password },
    })
    expectError(sameName, 409, 'USERNAME_TAKEN')
    const sameEmail = await call(stack.url, 'POST', '/users', {
      body: { username: account.username + 'x', email: account.email.toUpperCase(), password: account.password },
    })
    expectError(sameEmail, 409, 'EMAIL_TAKEN')
  })

  test('a weak password is refused with 422 naming the field', async () => {
    const answer = await call(stack.url, 'POST', '/users', { body: { username: 'weakling', email: 'weak@example.com', password: 'password123' } })
    expectError(answer, 422, 'WEAK_PASSWORD')
    expect(answer.body.details).toEqual([{ field: 'password', message: expect.any(String) }])
  })

  test('a public profile, and prefix search over username and display name with a cursor', async () => {
    const prefix = `srch${Date.now().toString(36)}`
    const accounts = []
    for (let i = 0; i < 5; i++) accounts.push(await register(stack.url, { username: `${prefix}_${i}` }))
    await register(stack.url, { displayName: `${prefix} by display name` })
    const { accessToken } = await login(stack.url, accounts[0])

    const profile = await call(stack.url, 'GET', `/users/${accounts[1].id}`, { token: accessToken })
    expect(profile.body).toEqual({ id: accounts[1].id, username: accounts[1].username, displayName: accounts[1].username, bio: null, avatarUrl: null })
    expect(profile.body.email).toBeUndefined()

    const seen: string[] = []
    let cursor: string | null = null
    do {
      const page: { status: number; body: any } = await call(stack.url, 'GET', `/users?q=${prefix.toUpperCase()}&limit=2${cursor ? `&cursor=${cursor}` : ''}`, {
        token: accessToken,
      })
      expect(page.status).toBe(200)
      expect(page.body.items.length).toBeLessThanOrEqual(2)
      seen.push(...page.body.items.map((item: { username: string }) => item.username))
      cursor = page.body.nextCursor
    } while (cursor !== null)
    expect(seen).toHaveLength(6)
    expect(new Set(seen).size).toBe(6)

    const wildcard = await call(stack.url, 'GET', '/users?q=%25', { token: accessToken })
    expect(wildcard.body.items).toEqual([])
  })

  test('sessions are listed with the current one marked, and one can be revoked', async () => {
    const account = await register(stack.url)
    const first = await login(stack.url, account, { 'user-agent': 'first-device' })
    const second = await login(stack.url, account, { 'user-agent': 'second-device' })
    const list = await call(stack.url, 'GET', '/auth/sessions', { token: first.accessToken })
    expect(list.status).toBe(200)
    expect(list.body).toHaveLength(2)
    const current = (list.body as any[]).find((s) => s.current)
    expect(current).toMatchObject({ id: first.sessionId, userAgent: 'first-device', ip: '127.0.0.1' })

    expect((await call(stack.url, 'DELETE', `/auth/sessions/${second.sessionId}`, { token: first.accessToken })).status).toBe(204)
    await waitUntil(() => isRefused(second.accessToken), 'the ended session’s token is refused')
    expectError(await call(stack.url, 'GET', '/users/me', { token: second.accessToken }), 401, 'TOKEN_REVOKED')
    expect((await call(stack.url, 'GET', '/users/me', { token: first.accessToken })).status).toBe(200)

    const stranger = await login(stack.url, await register(stack.url))
    expectError(await call(stack.url, 'DELETE', `/auth/sessions/${first.sessionId}`, { token: stranger.accessToken }), 404, 'NOT_FOUND')
  })

  test('logout scopes: others keeps this session, global ends all', async () => {
    const account = await register(stack.url)
    const [a, b, c] = [await login(stack.url, account), await login(stack.url, account), await login(stack.url, account)]
    expect((await call(stack.url, 'POST', '/auth/logout', { token: a.accessToken, body: { scope: 'others' } })).status).toBe(204)
    await waitUntil(() => isRefused(b.accessToken), 'the other session’s token is refused')
    expect((await call(stack.url, 'GET', '/users/me', { token: a.accessToken })).status).toBe(200)
    expectError(await call(stack.url, 'GET', '/users/me', { token: b.accessToken }), 401)
    expectError(await call(stack.url, 'POST', '/auth/refresh', { body: { refreshToken: c.refreshToken } }), 401)

    const d = await login(stack.url, account)
    expect((await call(stack.url, 'POST', '/auth/logout', { token: d.accessToken, body: { scope: 'global' } })).status).toBe(204)
    await waitUntil(async () => (await isRefused(a.accessToken)) && (await isRefused(d.accessToken)), 'every session’s token is refused')
    for (const tokens of [a, d]) expectError(await call(stack.url, 'GET', '/users/me', { token: tokens.accessToken }), 401, 'TOKEN_REVOKED')
  })

  test('changing the password revokes the other sessions; a wrong current password gets 403', async () => {
    const account = await register(stack.url)
    const here = await login(stack.url, account)
    const elsewhere = await login(stack.url, account)
    expectError(
      await call(stack.url, 'PUT', '/auth/password', { token: here.accessToken, body: { currentPassword: 'not it at all', newPassword: 'a brand new secret' } }),
      403,
      'INVALID_PASSWORD',
    )
    const changed = await call(stack.url, 'PUT', '/auth/password', {
      token: here.accessToken,
      body: { currentPassword: account.password, newPassword: 'a brand new secret' },
    })
    expect(changed.status).toBe(204)
    await waitUntil(() => isRefused(elsewhere.accessToken), 'the other session’s token is refused')
    expect((await call(stack.url, 'GET', '/users/me', { token: here.accessToken })).status).toBe(200)
    expectError(await call(stack.url, 'GET', '/users/me', { token: elsewhere.accessToken }), 401, 'TOKEN_REVOKED')
    expectError(await call(stack.url, 'POST', '/auth/login', { body: { login: account.username, password: account.password } }), 401, 'INVALID_CREDENTIALS')
    await login(stack.url, { username: account.username, password: 'a brand new secret' })
  })

  test('Caddy sets and echoes a request id, and the service logs it', async () => {
    const answer = await call(stack.url, 'GET', '/users/health')
    const requestId = answer.headers.get('x-request-id')
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/)
    const logFile = `${stack.logDir}/${stack.instancesOf('user')[0].name}.log`
    await waitUntil(async () => (await Bun.file(logFile).text()).includes(requestId!), 'the user service has logged the request')
    const logs = await Bun.file(logFile).text()
    const line = logs.split('\n').find((l) => l.includes(requestId!))
    expect(line).toBeDefined()
    expect(JSON.parse(line!)).toMatchObject({ level: 'info', service: 'user', reqId: requestId, path: '/users/health', status: 200 })
  })

  test('the JWKS publishes one Ed25519 public key and no private part', async () => {
    const answer = await call(stack.url, 'GET', '/auth/.well-known/jwks.json')
    expect(answer.status).toBe(200)
    expect(answer.body.keys).toHaveLength(1)
    expect(answer.body.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig', kid: expect.any(String) })
    expect(answer.body.keys[0].d).toBeUndefined()
  })
})
