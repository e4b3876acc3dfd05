import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestStack, type TestStack } from '../../test/harness'
import { call, expectError, login, register, type Account } from '../../test/client'

let stack: TestStack
let authUrl: string
beforeAll(async () => {
  stack = await startTestStack()
  authUrl = stack.instancesOf('auth')[0].url
})
afterAll(() => stack?.stop())

/** Caddy is the trusted proxy; calling the instance directly from loopback lets a test play any client IP. */
const loginFrom = (ip: string, loginName: string, password: string) =>
  call(authUrl, 'POST', '/auth/login', { body: { login: loginName, password }, headers: { 'x-forwarded-for': ip } })

const fakeIp = () => `198.51.100.${Math.floor(Math.random() * 250) + 1}`

describe('login failure limits', () => {
  test('an unknown login and a wrong password get the same answer', async () => {
    const account = await register(stack.url)
    const ip = fakeIp()
    const unknown = await loginFrom(ip, 'nobody_' + account.username, 'some password')
    const wrong = await loginFrom(ip, account.username, 'some password')
    expectError(unknown, 401, 'INVALID_CREDENTIALS')
    expect(wrong.body).toEqual(unknown.body)
    expect(wrong.status).toBe(unknown.status)
  })

  test('an unknown login costs a password hash check like a wrong password does', async () => {
    // Not a speed test: it guards against the unknown-user path skipping argon2id, which
    // would answer about a hundred times faster and tell attackers which logins exist.
    const account = await register(stack.url)
    const ip = fakeIp()
    const median = async (loginName: string) => {
      const times: number[] = []
      for (let i = 0; i < 5; i++) {
        const started = performance.now()
        await loginFrom(ip, loginName, `wrong password ${i}`)
        times.push(performance.now() - started)
      }
      return times.sort((a, b) => a - b)[2]
    }
    const wrongPassword = await median(account.username)
    const unknownUser = await median('nobody_' + account.username)
    expect(unknownUser / wrongPassword).toBeGreaterThan(0.33)
    expect(unknownUser / wrongPassword).toBeLessThan(3)
  })

  test('ten failures lock that login from that IP, even for the right password, but not from elsewhere', async () => {
    const account: Account = await register(stack.url)
    const attacker = fakeIp()
    for (let i = 0; i < 10; i++) expectError(await loginFrom(attacker, account.username, 'guess ' + i), 401, 'INVALID_CREDENTIALS')

    const locked = await loginFrom(attacker, account.username, account.password)
    expectError(locked, 429, 'TOO_MANY_ATTEMPTS')
    const retryAfter = Number(locked.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThan(800)
    expect(retryAfter).toBeLessThanOrEqual(900)
    // The same login typed differently is the same pair.
    expectError(await loginFrom(attacker, account.username.toUpperCase(), account.password), 429)

    const owner = await loginFrom('192.0.2.10', account.username, account.password)
    expect(owner.status).toBe(200)
  })

  // The count used to be checked before and raised after the password check: guesses sent
  // together all passed the check, however many there were.
  test('forty wrong passwords sent at once from one IP are ten guesses: the others get 429, and so does the right one after them', async () => {
    const account = await register(stack.url)
    const attacker = fakeIp()
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => loginFrom(attacker, account.username, 'guess ' + i)))
    const statuses = answers.map((answer) => answer.status)
    expect(statuses.filter((status) => status === 401)).toHaveLength(10)
    expect(statuses.filter((status) => status === 429)).toHaveLength(30)
    expectError(await loginFrom(attacker, account.username, account.password), 429, 'TOO_MANY_ATTEMPTS')
    expect((await loginFrom('192.0.2.11', account.username, account.password)).status).toBe(200)
  })

  test('the addresses of one IPv6 /64 are one client: ten failures from ten of them lock the account from the whole block', async () => {
    const account = await register(stack.url)
    const block = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:1`
    for (let i = 0; i < 10; i++) expectError(await loginFrom(`${block}::${(i + 1).toString(16)}`, account.username, 'guess ' + i), 401, 'INVALID_CREDENTIALS')
    expectError(await loginFrom(`${block}:ffff:ffff:ffff:ffff`, account.username, account.password), 429, 'TOO_MANY_ATTEMPTS')
    expect((await loginFrom(`${block.slice(0, -1)}2::1`, account.username, account.password)).status).toBe(200)
  })

  test('username and email are two logins: a lock on one says nothing about the other (no telling which email is whose)', async () => {
    const account = await register(stack.url)
    const stranger = await register(stack.url)
    const attacker = fakeIp()
    for (let i = 0; i < 10; i++) expectError(await loginFrom(attacker, account.username, 'guess by name ' + i), 401, 'INVALID_CREDENTIALS')
    expectError(await loginFrom(attacker, account.username, account.password), 429, 'TOO_MANY_ATTEMPTS')
    // The account's own email answers a wrong password exactly as someone else's email does.
    const ownEmail = await loginFrom(attacker, account.email.toUpperCase(), 'guess by mail')
    const otherEmail = await loginFrom(attacker, stranger.email, 'guess by mail')
    expectError(ownEmail, 401, 'INVALID_CREDENTIALS')
    expect(ownEmail.body).toEqual(otherEmail.body)
    expect(ownEmail.status).toBe(otherEmail.status)
  })

  test('a hundred failures from one IP across many logins lock that IP', async () => {
    const stuffer = `203.0.113.${Math.floor(Math.random() * 250) + 1}`
    const account = await register(stack.url)
    for (let batch = 0; batch < 10; batch++) {
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => loginFrom(stuffer, `victim_${batch}_${i}`, 'password guess')))
      for (const answer of answers) expect(answer.status).toBe(401)
    }
    const locked = await loginFrom(stuffer, account.username, account.password)
    expectError(locked, 429, 'TOO_MANY_ATTEMPTS')
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0)
    expect((await loginFrom(fakeIp(), account.username, account.password)).status).toBe(200)
  })

  test('logins from one IP beyond the per-minute limit answer 429 whatever their outcome, and count as no failure', async () => {
    // Each login costs an argon2id check: one account's right password must not buy a flood of them.
    const limited = await stack.startInstance('auth', { env: { LOGIN_MAX_PER_IP_PER_MINUTE: '3' } })
    const loginAt = (ip: string, loginName: string, password: string) =>
      call(limited.url, 'POST', '/auth/login', { body: { login: loginName, password }, headers: { 'x-forwarded-for': ip } })
    const account = await register(stack.url)
    const ip = fakeIp()
    expect((await loginAt(ip, account.username, account.password)).status).toBe(200)
    expectError(await loginAt(ip, account.username, 'a wrong password'), 401, 'INVALID_CREDENTIALS')
    expect((await loginAt(ip, account.username, account.password)).status).toBe(200)

    const refused = await loginAt(ip, account.username, account.password)
    expectError(refused, 429, 'TOO_MANY_ATTEMPTS')
    const retryAfter = Number(refused.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThan(0)
    expect(retryAfter).toBeLessThanOrEqual(60)
    // Ten more refused ones did not count as wrong passwords: the pair is not locked from elsewhere either.
    for (let i = 0; i < 10; i++) expectError(await loginAt(ip, account.username, 'guess ' + i), 429, 'TOO_MANY_ATTEMPTS')
    expect((await loginFrom(ip, account.username, account.password)).status).toBe(200)
    expect((await loginAt('192.0.2.12', account.username, account.password)).status).toBe(200)
  })

  test('through Caddy the client cannot choose its IP with X-Forwarded-For', async () => {
    const account = await register(stack.url)
    const tokens = await login(stack.url, account, { 'x-forwarded-for': '192.0.2.77' })
    const sessions = await call(stack.url, 'GET', '/auth/sessions', { token: tokens.accessToken })
    expect(sessions.body[0].ip).toBe('127.0.0.1')
  })
})
