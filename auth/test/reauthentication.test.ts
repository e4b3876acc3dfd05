import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestStack, type TestStack } from '../../test/harness'
import { call, expectError, login, register, type Account, type Answer } from '../../test/client'

let stack: TestStack
beforeAll(async () => {
  stack = await startTestStack()
})
afterAll(() => stack?.stop())

const WRONG_TRIES = 15
const LIMIT = 10
const WINDOW_SECONDS = 900
const CHECKS_PER_MINUTE = 10

/** Sends `WRONG_TRIES` wrong passwords through `attempt`, one after another, and returns the statuses. */
async function guess(attempt: (password: string) => Promise<Answer>): Promise<number[]> {
  const statuses: number[] = []
  for (let i = 0; i < WRONG_TRIES; i++) statuses.push((await attempt(`wrong guess ${i}`)).status)
  return statuses
}

function expectLockedAfterTen(statuses: number[]) {
  expect(statuses).toEqual([...Array(LIMIT).fill(403), ...Array(WRONG_TRIES - LIMIT).fill(429)])
}

function expectLockedAnswer(answer: Answer) {
  expectError(answer, 429, 'TOO_MANY_ATTEMPTS')
  const retryAfter = Number(answer.headers.get('retry-after'))
  expect(retryAfter).toBeGreaterThan(WINDOW_SECONDS - 120)
  expect(retryAfter).toBeLessThanOrEqual(WINDOW_SECONDS)
}

describe('re-authentication limit', () => {
  test('a password change refuses the right current password after ten wrong ones, while login still works', async () => {
    const account: Account = await register(stack.url)
    const { accessToken } = await login(stack.url, account)
    const change = (currentPassword: string) =>
      call(stack.url, 'PUT', '/auth/password', { token: accessToken, body: { currentPassword, newPassword: 'a brand new long passphrase' } })

    expectLockedAfterTen(await guess(change))
    expectLockedAnswer(await change(account.password))
    // Its own counter: logging in is not locked, and the password did not change.
    await login(stack.url, account)
  })

  test('account deletion refuses the right password after ten wrong ones, while login still works', async () => {
    const account = await register(stack.url)
    const { accessToken } = await login(stack.url, account)
    const remove = (password: string) => call(stack.url, 'DELETE', '/users/me', { token: accessToken, body: { password } })

    expectLockedAfterTen(await guess(remove))
    expectLockedAnswer(await remove(account.password))
    expect((await call(stack.url, 'GET', '/users/me', { token: accessToken })).status).toBe(200)
    await login(stack.url, account)
  })

  test('wrong passwords on both routes add up to one counter per user', async () => {
    const account = await register(stack.url)
    const { accessToken } = await login(stack.url, account)
    for (let i = 0; i < LIMIT / 2; i++) {
      expectError(await call(stack.url, 'DELETE', '/users/me', { token: accessToken, body: { password: `wrong ${i}` } }), 403, 'INVALID_PASSWORD')
      expectError(
        await call(stack.url, 'PUT', '/auth/password', { token: accessToken, body: { currentPassword: `wrong ${i}`, newPassword: 'a brand new long passphrase' } }),
        403,
        'INVALID_PASSWORD',
      )
    }
    expectLockedAnswer(await call(stack.url, 'DELETE', '/users/me', { token: accessToken, body: { password: account.password } }))
  })

  // The count used to be checked before and raised after the password check: guesses sent
  // together all passed the check, however many there were.
  test('forty wrong passwords sent at once are ten guesses: the others get 429, and so does the right one after them', async () => {
    const account = await register(stack.url)
    const { accessToken } = await login(stack.url, account)
    const change = (currentPassword: string) =>
      call(stack.url, 'PUT', '/auth/password', { token: accessToken, body: { currentPassword, newPassword: 'a brand new long passphrase' } })
    const statuses = (await Promise.all(Array.from({ length: 40 }, (_, i) => change(`wrong guess ${i}`)))).map((answer) => answer.status)
    expect(statuses.filter((status) => status === 403)).toHaveLength(LIMIT)
    expect(statuses.filter((status) => status === 429)).toHaveLength(40 - LIMIT)
    expectLockedAnswer(await change(account.password))
  })

  // Each check is an argon2id verify: one account's right password must not buy unlimited ones.
  test('right passwords too: the eleventh password check of a user within a minute answers 429, on any route that checks one', async () => {
    const account = await register(stack.url)
    const { accessToken } = await login(stack.url, account)
    const startEnrolment = () => call(stack.url, 'POST', '/auth/mfa/totp', { token: accessToken, body: { currentPassword: account.password } })
    for (let i = 0; i < CHECKS_PER_MINUTE; i++) expect((await startEnrolment()).status).toBe(200)

    const refused = await call(stack.url, 'PUT', '/auth/password', { token: accessToken, body: { currentPassword: account.password, newPassword: 'a brand new long passphrase' } })
    expectError(refused, 429, 'TOO_MANY_ATTEMPTS')
    const retryAfter = Number(refused.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThan(0)
    expect(retryAfter).toBeLessThanOrEqual(60)
    expectError(await startEnrolment(), 429, 'TOO_MANY_ATTEMPTS')
    // The password did not change, and logging in is not limited by it.
    await login(stack.url, account)
  })

  test('one user reaching the limit does not lock another', async () => {
    const locked = await register(stack.url)
    const lockedTokens = await login(stack.url, locked)
    await guess((password) => call(stack.url, 'DELETE', '/users/me', { token: lockedTokens.accessToken, body: { password } }))

    const other = await register(stack.url)
    const otherTokens = await login(stack.url, other)
    const changed = await call(stack.url, 'PUT', '/auth/password', {
      token: otherTokens.accessToken,
      body: { currentPassword: other.password, newPassword: 'a brand new long passphrase' },
    })
    expect(changed.status).toBe(204)
  })
})
