import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestStack, type TestStack } from '../../test/harness'
import { call, expectError, login, register, uniqueName } from '../../test/client'
import { waitUntil } from '../../test/wait'

let stack: TestStack
beforeAll(async () => {
  stack = await startTestStack()
})
afterAll(() => stack?.stop())

const countUsers = async (username: string) =>
  (await stack.sql`select count(*)::int as count from users.users where lower(username) = lower(${username})`)[0].count as number
const countCredentials = async (username: string) =>
  (await stack.sql`select count(*)::int as count from auth.credentials where lower(username) = lower(${username})`)[0].count as number

describe('registration and deletion across the user and auth services', () => {
  test('registration leaves no half-created account when the auth call fails', async () => {
    // An instance whose auth is unreachable: a port nothing listens on.
    // It cannot load the revocations from auth either: start-up need not wait long for them.
    const broken = await stack.startInstance('user', { env: { AUTH_INTERNAL_URL: 'http://127.0.0.1:9', REVOCATION_FIRST_LOAD_TIMEOUT_MS: '200' } })
    const username = uniqueName('rollback')
    const answer = await call(broken.url, 'POST', '/users', { body: { username, email: `${username}@example.com`, password: 'a fine long password' } })
    expectError(answer, 503, 'DEPENDENCY_DOWN')
    expect(await countUsers(username)).toBe(0)
    expect(await countCredentials(username)).toBe(0)
    // The same name is still free afterwards.
    await register(stack.url, { username })
  })

  test('registration leaves no half-created account when auth refuses the credential', async () => {
    const username = uniqueName('clash')
    // The credential table already has this username (e.g. left by an earlier partial failure).
    await stack.sql`insert into auth.credentials (user_id, username, email, password_hash) values (${crypto.randomUUID()}, ${username}, ${username + '@x.example'}, 'x')`
    const answer = await call(stack.url, 'POST', '/users', { body: { username, email: `${username}@example.com`, password: 'a fine long password' } })
    expectError(answer, 409, 'USERNAME_TAKEN')
    expect(await countUsers(username)).toBe(0)
  })

  test('deleting the account needs the password, then revokes every session and stops logins', async () => {
    const account = await register(stack.url)
    const first = await login(stack.url, account)
    const second = await login(stack.url, account)

    expectError(await call(stack.url, 'DELETE', '/users/me', { token: first.accessToken, body: { password: 'not the password' } }), 403, 'INVALID_PASSWORD')
    expect(await countUsers(account.username)).toBe(1)

    expect((await call(stack.url, 'DELETE', '/users/me', { token: first.accessToken, body: { password: account.password } })).status).toBe(204)
    await waitUntil(
      async () => (await Promise.all([first, second].map((tokens) => call(stack.url, 'GET', '/users/me', { token: tokens.accessToken })))).every((answer) => answer.status === 401),
      'both sessions’ tokens are refused',
    )
    for (const tokens of [first, second]) {
      expectError(await call(stack.url, 'GET', '/users/me', { token: tokens.accessToken }), 401, 'TOKEN_REVOKED')
      expectError(await call(stack.url, 'POST', '/auth/refresh', { body: { refreshToken: tokens.refreshToken } }), 401, 'INVALID_REFRESH_TOKEN')
    }
    expectError(await call(stack.url, 'POST', '/auth/login', { body: { login: account.username, password: account.password } }), 401, 'INVALID_CREDENTIALS')
    expect(await countUsers(account.username)).toBe(0)
    expect(await countCredentials(account.username)).toBe(0)
    const [{ count }] = await stack.sql`select count(*)::int as count from auth.sessions where user_id = ${account.id}`
    expect(count).toBe(0)
    // The name can be registered again by someone new.
    await register(stack.url, { username: account.username })
  })

  test('a username or email change is mirrored to login, and conflicts answer 409', async () => {
    const account = await register(stack.url)
    const other = await register(stack.url)
    const { accessToken } = await login(stack.url, account)
    const newName = uniqueName('renamed')
    const renamed = await call(stack.url, 'PATCH', '/users/me', { token: accessToken, body: { username: newName, email: `${newName}@example.com`, currentPassword: account.password } })
    expect(renamed.status).toBe(200)
    expect(renamed.body).toMatchObject({ username: newName, email: `${newName}@example.com` })
    await login(stack.url, { username: newName, password: account.password })
    expectError(await call(stack.url, 'POST', '/auth/login', { body: { login: account.username, password: account.password } }), 401)

    expectError(await call(stack.url, 'PATCH', '/users/me', { token: accessToken, body: { username: other.username.toUpperCase() } }), 409, 'USERNAME_TAKEN')
    expectError(await call(stack.url, 'PATCH', '/users/me', { token: accessToken, body: { email: other.email, currentPassword: account.password } }), 409, 'EMAIL_TAKEN')
    const me = await call(stack.url, 'GET', '/users/me', { token: accessToken })
    expect(me.body.username).toBe(newName)
  })

  test('registrations from one IP beyond the limit answer 429 with Retry-After, whatever their outcome, and other IPs still register', async () => {
    // Called directly from loopback, a trusted proxy, so X-Forwarded-For chooses the client IP.
    const limited = await stack.startInstance('user', { env: { REGISTRATION_MAX_PER_IP: '3', REGISTRATION_WINDOW_SECONDS: '600' } })
    const registerFrom = (ip: string, body: Record<string, string>) => call(limited.url, 'POST', '/users', { body, headers: { 'x-forwarded-for': ip } })
    const fresh = () => {
      const username = uniqueName('limited')
      return { username, email: `${username}@example.com`, password: 'a fine long password' }
    }
    const ip = '198.51.100.77'
    expect((await registerFrom(ip, fresh())).status).toBe(201)
    // Refused attempts count too: a common password and a taken name.
    expectError(await registerFrom(ip, { ...fresh(), password: 'password123' }), 422, 'WEAK_PASSWORD')
    const taken = fresh()
    await register(stack.url, taken)
    expectError(await registerFrom(ip, taken), 409, 'USERNAME_TAKEN')

    const refused = await registerFrom(ip, fresh())
    expectError(refused, 429, 'RATE_LIMITED')
    const retryAfter = Number(refused.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThan(500)
    expect(retryAfter).toBeLessThanOrEqual(600)
    expect((await registerFrom('198.51.100.78', fresh())).status).toBe(201)
  })

  test('email changes of one account beyond the limit answer 429 whatever their outcome; other profile changes still work', async () => {
    // Each attempt says whether an address is taken (409) or mails it: one account must not test or mail addresses without end.
    const limited = await stack.startInstance('user', { env: { EMAIL_CHANGE_MAX_PER_USER: '2', EMAIL_CHANGE_WINDOW_SECONDS: '600' } })
    const account = await register(stack.url)
    const other = await register(stack.url)
    const { accessToken } = await login(stack.url, account)
    const patchMe = (body: Record<string, unknown>) => call(limited.url, 'PATCH', '/users/me', { token: accessToken, body })
    expectError(await patchMe({ email: other.email, currentPassword: account.password }), 409, 'EMAIL_TAKEN')
    expect((await patchMe({ email: `new-${account.email}`, currentPassword: account.password })).status).toBe(200)

    const refused = await patchMe({ email: `newer-${account.email}`, currentPassword: account.password })
    expectError(refused, 429, 'RATE_LIMITED')
    const retryAfter = Number(refused.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThan(500)
    expect(retryAfter).toBeLessThanOrEqual(600)
    expect((await patchMe({ displayName: 'Still editable' })).body).toMatchObject({ displayName: 'Still editable', email: `new-${account.email}` })
  })

  test('user searches beyond the per-minute limit answer 429 for that user only', async () => {
    const limited = await stack.startInstance('user', { env: { SEARCH_MAX_PER_MINUTE_PER_USER: '3' } })
    const [searcher, other] = [await login(stack.url, await register(stack.url)), await login(stack.url, await register(stack.url))]
    const search = (tokens: { accessToken: string }, q: string) => call(limited.url, 'GET', `/users?q=${q}`, { token: tokens.accessToken })
    for (const q of ['a', 'b', 'c']) expect((await search(searcher, q)).status).toBe(200)
    const refused = await search(searcher, 'd')
    expectError(refused, 429, 'RATE_LIMITED')
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(60)
    expect((await search(other, 'd')).status).toBe(200)
  })

  test('bio and avatar can be set and cleared', async () => {
    const { accessToken } = await login(stack.url, await register(stack.url))
    const set = await call(stack.url, 'PATCH', '/users/me', { token: accessToken, body: { bio: 'Hello 👋\nsecond line', avatarUrl: 'https://example.com/a.png' } })
    expect(set.body).toMatchObject({ bio: 'Hello 👋\nsecond line', avatarUrl: 'https://example.com/a.png' })
    const cleared = await call(stack.url, 'PATCH', '/users/me', { token: accessToken, body: { bio: null, avatarUrl: null } })
    expect(cleared.body).toMatchObject({ bio: null, avatarUrl: null })
  })
})
