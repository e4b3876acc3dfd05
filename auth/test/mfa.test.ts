import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createHash } from 'node:crypto'
import { CLOSE } from '@chat/common/close-codes'
import { totpCode, TOTP_PERIOD_SECONDS } from '../src/mfa/totp'
import { createSession } from '../src/sessions/service'
import { call, expectError, login, register, type Account, type Answer, type Tokens } from '../../test/client'
import { startTestStack, type TestStack } from '../../test/harness'
import { startTestSmtp, type TestSmtp } from '../../test/smtp'
import { expectNever, waitUntil } from '../../test/wait'
import { connect } from '../../test/ws-client'

let stack: TestStack
let smtp: TestSmtp
beforeAll(async () => {
  smtp = await startTestSmtp()
  stack = await startTestStack({ chat: 1, env: { SMTP_URL: smtp.url } })
})
afterAll(async () => {
  await stack?.stop()
  await smtp?.stop()
})

const STEP_MS = TOTP_PERIOD_SECONDS * 1000
/** A code is made for a step and checked a moment later: never let the step roll over in between. */
const STEP_MARGIN_MS = 4000

/**
 * Returns once the current 30 s step has at least STEP_MARGIN_MS left, so codes computed now
 * for this step and its neighbours are still those steps when the server checks them.
 */
async function awayFromStepEdge(): Promise<void> {
  await waitUntil(() => STEP_MS - (Date.now() % STEP_MS) > STEP_MARGIN_MS, { message: 'the TOTP step has time left', timeoutMs: STEP_MS })
}
/** The code of the step `offset` steps from now (the server accepts −1, 0 and +1). */
const codeAt = (secret: string, offset: number) => totpCode(secret, Date.now() + offset * STEP_MS)

type Enrolled = Account & { tokens: Tokens; secret: string; recoveryCodes: string[] }

/** A new user with TOTP on, confirmed with the code of the previous step (so this step and the next are still free). */
async function enrolledUser(): Promise<Enrolled> {
  const account = await register(stack.url)
  const tokens = await login(stack.url, account)
  const started = await call(stack.url, 'POST', '/auth/mfa/totp', { token: tokens.accessToken, body: { currentPassword: account.password } })
  expect(started.status).toBe(200)
  const { secret } = started.body
  await awayFromStepEdge()
  const confirmed = await call(stack.url, 'POST', '/auth/mfa/totp/confirm', { token: tokens.accessToken, body: { code: codeAt(secret, -1) } })
  expect(confirmed.status).toBe(200)
  return { ...account, tokens, secret, recoveryCodes: confirmed.body.recoveryCodes }
}

/** Subjects of the mails the test SMTP server has received for `address`. */
const subjectsOfMailsTo = (address: string): string[] => smtp.mailsTo(address).map((mail) => mail.subject ?? '')

async function mfaTokenOf(account: Account): Promise<string> {
  const answer = await call(stack.url, 'POST', '/auth/login', { body: { login: account.username, password: account.password } })
  expect(answer.status).toBe(200)
  expect(answer.body).toEqual({ mfaRequired: true, mfaToken: expect.any(String), expiresIn: 300 })
  return answer.body.mfaToken
}

const verify = (mfaToken: string, code: string): Promise<Answer> => call(stack.url, 'POST', '/auth/mfa/verify', { body: { mfaToken, code } })
/** A well-formed code that is not the user's: the right one's neighbour digits are all different. */
const wrongCode = (secret: string) => [...codeAt(secret, 0)].map((digit) => String((Number(digit) + 5) % 10)).join('')

describe('TOTP two-factor', () => {
  test('enrol, confirm, then login answers mfaRequired without tokens and verify gives a working token pair', async () => {
    const account = await register(stack.url)
    const tokens = await login(stack.url, account)
    expect((await call(stack.url, 'GET', '/auth/mfa', { token: tokens.accessToken })).body).toEqual({ totp: false })

    const started = await call(stack.url, 'POST', '/auth/mfa/totp', { token: tokens.accessToken, body: { currentPassword: account.password } })
    expect(started.status).toBe(200)
    expect(started.body.secret).toMatch(/^[A-Z2-7]{32}$/)
    expect(started.body.otpauthUrl).toBe(`otpauth://totp/Chat:${account.username}?issuer=Chat&secret=${started.body.secret}&algorithm=SHA1&digits=6&period=30`)
    // Pending: login is unchanged until the enrolment is confirmed.
    expect((await login(stack.url, account)).accessToken).toBeString()

    await awayFromStepEdge()
    const confirmed = await call(stack.url, 'POST', '/auth/mfa/totp/confirm', { token: tokens.accessToken, body: { code: codeAt(started.body.secret, 0) } })
    expect(confirmed.status).toBe(200)
    expect(confirmed.body.recoveryCodes).toHaveLength(10)
    expect((await call(stack.url, 'GET', '/auth/mfa', { token: tokens.accessToken })).body).toEqual({ totp: true })

    const mfaToken = await mfaTokenOf(account)
    const verified = await verify(mfaToken, codeAt(started.body.secret, 1))
    expect(verified.status).toBe(200)
    expect(verified.headers.get('cache-control')).toBe('no-store')
    expect(Object.keys(verified.body).sort()).toEqual(['accessToken', 'expiresIn', 'refreshToken', 'sessionId', 'tokenType'])
    expect((await call(stack.url, 'GET', '/users/me', { token: verified.body.accessToken })).body.id).toBe(account.id)
    // The mfaToken is spent by its first right code.
    expectError(await verify(mfaToken, confirmed.body.recoveryCodes[0]), 401, 'INVALID_TOKEN')
  })

  test('a code already used is refused within its window, the confirming code included', async () => {
    const user = await enrolledUser()
    await awayFromStepEdge()
    // The confirming code was the previous step's.
    expectError(await verify(await mfaTokenOf(user), codeAt(user.secret, -1)), 401, 'INVALID_CODE')
    const now = codeAt(user.secret, 0)
    expect((await verify(await mfaTokenOf(user), now)).status).toBe(200)
    expectError(await verify(await mfaTokenOf(user), now), 401, 'INVALID_CODE')
    // An earlier step than the last one used is refused too, even if never used itself.
    expect((await verify(await mfaTokenOf(user), codeAt(user.secret, 1))).status).toBe(200)
    expectError(await verify(await mfaTokenOf(user), now), 401, 'INVALID_CODE')
  })

  test('two logins racing with one code: exactly one gets tokens', async () => {
    const user = await enrolledUser()
    await awayFromStepEdge()
    const code = codeAt(user.secret, 0)
    const [first, second] = await Promise.all([mfaTokenOf(user), mfaTokenOf(user)])
    const statuses = (await Promise.all([verify(first, code), verify(second, code)])).map((answer) => answer.status).sort()
    expect(statuses).toEqual([200, 401])
  })

  test('a recovery code works once, in any case and without its dash', async () => {
    const user = await enrolledUser()
    const [code, other] = user.recoveryCodes
    expect((await verify(await mfaTokenOf(user), code)).status).toBe(200)
    expectError(await verify(await mfaTokenOf(user), code), 401, 'INVALID_CODE')
    expect((await verify(await mfaTokenOf(user), other.toUpperCase().replace('-', ''))).status).toBe(200)
  })

  test('five wrong codes spend the mfaToken: the right code after them gets INVALID_TOKEN', async () => {
    const user = await enrolledUser()
    const mfaToken = await mfaTokenOf(user)
    for (let i = 0; i < 5; i++) expectError(await verify(mfaToken, wrongCode(user.secret)), 401, 'INVALID_CODE')
    await awayFromStepEdge()
    expectError(await verify(mfaToken, codeAt(user.secret, 0)), 401, 'INVALID_TOKEN')
    // A new login starts over.
    expect((await verify(await mfaTokenOf(user), codeAt(user.secret, 0))).status).toBe(200)
  })

  test('an expired or unknown mfaToken gets INVALID_TOKEN', async () => {
    const user = await enrolledUser()
    const mfaToken = await mfaTokenOf(user)
    await stack.sql`update auth.mfa_challenges set expires_at = now() - interval '1 second' where user_id = ${user.id}`
    await awayFromStepEdge()
    expectError(await verify(mfaToken, codeAt(user.secret, 0)), 401, 'INVALID_TOKEN')
    expectError(await verify('not-a-token-we-issued', codeAt(user.secret, 0)), 401, 'INVALID_TOKEN')
  })

  test('wrong codes count toward the re-authentication limit: after ten, even a right code or password gets 429, while login still works', async () => {
    const user = await enrolledUser()
    for (let round = 0; round < 2; round++) {
      const mfaToken = await mfaTokenOf(user)
      for (let i = 0; i < 5; i++) expectError(await verify(mfaToken, wrongCode(user.secret)), 401, 'INVALID_CODE')
    }
    await awayFromStepEdge()
    const locked = await verify(await mfaTokenOf(user), codeAt(user.secret, 0))
    expectError(locked, 429, 'TOO_MANY_ATTEMPTS')
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0)
    // One counter with password confirmation.
    const change = await call(stack.url, 'PUT', '/auth/password', {
      token: user.tokens.accessToken,
      body: { currentPassword: user.password, newPassword: 'a brand new long passphrase' },
    })
    expectError(change, 429, 'TOO_MANY_ATTEMPTS')
    // Login keeps its own limits: the password still opens a challenge.
    expect(await mfaTokenOf(user)).toBeString()
  })

  test('confirming revokes the sessions opened before: their socket closes and their token is refused', async () => {
    const account = await register(stack.url)
    const older = await login(stack.url, account)
    const socket = await connect(stack.url, older.accessToken)
    const current = await login(stack.url, account)
    const { secret } = (await call(stack.url, 'POST', '/auth/mfa/totp', { token: current.accessToken, body: { currentPassword: account.password } })).body
    await awayFromStepEdge()
    expect((await call(stack.url, 'POST', '/auth/mfa/totp/confirm', { token: current.accessToken, body: { code: codeAt(secret, 0) } })).status).toBe(200)

    expect((await socket.closed).code).toBe(CLOSE.REVOKED)
    expectError(await call(stack.url, 'GET', '/users/me', { token: older.accessToken }), 401, 'TOKEN_REVOKED')
    expectError(await call(stack.url, 'POST', '/auth/refresh', { body: { refreshToken: older.refreshToken } }), 401)
    expect((await call(stack.url, 'GET', '/users/me', { token: current.accessToken })).status).toBe(200)
  })

  test('recovery codes are stored keyed, not as a plain hash; a code stored the earlier plain way still works once', async () => {
    const user = await enrolledUser()
    const plain = (code: string) => createHash('sha256').update(code.toLowerCase().replace('-', '')).digest()
    const stored = await stack.sql<{ code_hash: Buffer }[]>`select code_hash from auth.recovery_codes where user_id = ${user.id}`
    expect(stored).toHaveLength(10)
    for (const code of user.recoveryCodes) expect(stored.some((row) => row.code_hash.equals(plain(code)))).toBe(false)
    const earlier = 'abcde-fghij'
    await stack.sql`insert into auth.recovery_codes (user_id, code_hash) values (${user.id}, ${plain(earlier)})`
    expect((await verify(await mfaTokenOf(user), earlier)).status).toBe(200)
    expectError(await verify(await mfaTokenOf(user), earlier), 401, 'INVALID_CODE')
  })

  test('a right password gives back only its own attempt: wrong codes stay counted, so guesses cannot be interleaved with it', async () => {
    const user = await enrolledUser()
    const { accessToken } = user.tokens
    const disableWith = (code: string) => call(stack.url, 'DELETE', '/auth/mfa/totp', { token: accessToken, body: { code } })
    for (let i = 0; i < 9; i++) expectError(await disableWith(wrongCode(user.secret)), 401, 'INVALID_CODE')
    // The password is right (the new one too weak): before, this wiped the nine wrong codes.
    expectError(await call(stack.url, 'PUT', '/auth/password', { token: accessToken, body: { currentPassword: user.password, newPassword: 'password' } }), 422, 'WEAK_PASSWORD')
    expectError(await disableWith(wrongCode(user.secret)), 401, 'INVALID_CODE')
    expectError(await disableWith(wrongCode(user.secret)), 429, 'TOO_MANY_ATTEMPTS')
  })

  test('a login waiting for its code opens nothing once the password changed, and a reset link mailed before is spent', async () => {
    const user = await enrolledUser()
    const waiting = await mfaTokenOf(user)
    const newPassword = 'an entirely different passphrase'
    expect((await call(stack.url, 'PUT', '/auth/password', { token: user.tokens.accessToken, body: { currentPassword: user.password, newPassword } })).status).toBe(204)
    await awayFromStepEdge()
    expectError(await verify(waiting, codeAt(user.secret, 0)), 401, 'INVALID_TOKEN')
    // The new password starts a new challenge, which works.
    const fresh = await mfaTokenOf({ ...user, password: newPassword })
    expect((await verify(fresh, codeAt(user.secret, 0))).status).toBe(200)
  })

  test('a session is opened only if the credential is as it was when the password was checked (a change meanwhile would miss it)', async () => {
    const account = await register(stack.url)
    const [{ checked_at }] = await stack.sql<{ checked_at: string }[]>`select updated_at::text as checked_at from auth.credentials where user_id = ${account.id}`
    // What a password change, a reset or turning two-factor on does to the row, while a login hashes.
    await stack.sql`update auth.credentials set updated_at = now() where user_id = ${account.id}`
    const sessions = async () => (await stack.sql<{ count: number }[]>`select count(*)::int as count from auth.sessions where user_id = ${account.id}`)[0].count
    const before = await sessions()
    const deps = { sql: stack.sql, config: { SESSION_MAX_AGE_DAYS: 30 } } as unknown as Parameters<typeof createSession>[0]
    expect(await createSession(deps, account.id, { ip: '127.0.0.1', userAgent: null }, checked_at)).toEqual({ ok: false, reason: 'NO_CREDENTIAL' })
    expect(await sessions()).toBe(before)
  })

  test('an access token alone cannot start an enrolment: the password is asked, and a wrong one is refused and counted', async () => {
    const account = await register(stack.url)
    const tokens = await login(stack.url, account)
    expectError(await call(stack.url, 'POST', '/auth/mfa/totp', { token: tokens.accessToken, body: {} }), 422)
    expectError(await call(stack.url, 'POST', '/auth/mfa/totp', { token: tokens.accessToken, body: { currentPassword: 'not the password' } }), 403, 'INVALID_PASSWORD')
    const [{ count }] = await stack.sql`select count(*)::int as count from auth.totp_factors where user_id = ${account.id}`
    expect(count).toBe(0)
  })

  test('a wrong confirming code leaves two-factor off', async () => {
    const account = await register(stack.url)
    const tokens = await login(stack.url, account)
    const { secret } = (await call(stack.url, 'POST', '/auth/mfa/totp', { token: tokens.accessToken, body: { currentPassword: account.password } })).body
    expectError(await call(stack.url, 'POST', '/auth/mfa/totp/confirm', { token: tokens.accessToken, body: { code: wrongCode(secret) } }), 401, 'INVALID_CODE')
    expect((await call(stack.url, 'GET', '/auth/mfa', { token: tokens.accessToken })).body).toEqual({ totp: false })
    expect((await login(stack.url, account)).accessToken).toBeString()
  })

  test('a second enrolment while two-factor is on is refused, so a stolen token cannot replace the factor', async () => {
    const user = await enrolledUser()
    expectError(await call(stack.url, 'POST', '/auth/mfa/totp', { token: user.tokens.accessToken, body: { currentPassword: user.password } }), 409, 'CONFLICT')
  })

  test('disabling needs a valid code; afterwards login gives tokens directly', async () => {
    const user = await enrolledUser()
    const disable = (code: string) => call(stack.url, 'DELETE', '/auth/mfa/totp', { token: user.tokens.accessToken, body: { code } })
    expectError(await disable(wrongCode(user.secret)), 401, 'INVALID_CODE')
    expectError(await disable('aaaaa-aaaaa'), 401, 'INVALID_CODE')
    expect((await call(stack.url, 'GET', '/auth/mfa', { token: user.tokens.accessToken })).body).toEqual({ totp: true })

    await awayFromStepEdge()
    expect((await disable(codeAt(user.secret, 0))).status).toBe(204)
    expect((await call(stack.url, 'GET', '/auth/mfa', { token: user.tokens.accessToken })).body).toEqual({ totp: false })
    expect((await login(stack.url, user)).accessToken).toBeString()
    expectError(await disable(user.recoveryCodes[0]), 409, 'CONFLICT')
  })

  test('the owner is mailed when two-factor is turned on and when it is turned off', async () => {
    const user = await enrolledUser()
    await waitUntil(async () => (await subjectsOfMailsTo(user.email)).includes('Two-factor login was turned on'), 'the "turned on" mail is written')
    expect((await call(stack.url, 'DELETE', '/auth/mfa/totp', { token: user.tokens.accessToken, body: { code: user.recoveryCodes[0] } })).status).toBe(204)
    await waitUntil(async () => (await subjectsOfMailsTo(user.email)).includes('Two-factor login was turned off'), 'the "turned off" mail is written')
  })

  // A password reset deletes the challenges, but a verify that read its challenge just
  // before would still open a session after the reset revoked every other one.
  test('a verify finishing after the password or factors changed opens no session', async () => {
    const user = await enrolledUser()
    const mfaToken = await mfaTokenOf(user)
    await stack.sql`update auth.credentials set updated_at = now() where user_id = ${user.id}`
    const sessionsBefore = await stack.sql`select id from auth.sessions where user_id = ${user.id}`
    await awayFromStepEdge()
    expectError(await verify(mfaToken, codeAt(user.secret, 0)), 401, 'INVALID_TOKEN')
    expect(await stack.sql`select id from auth.sessions where user_id = ${user.id}`).toHaveLength(sessionsBefore.length)
  })

  test('five wrong login codes of a user mail the owner that someone has the password, whichever logins they came with, once an hour at most', async () => {
    const user = await enrolledUser()
    const WARNING = 'Wrong two-factor codes after your password'
    const warnings = async () => (await subjectsOfMailsTo(user.email)).filter((subject) => subject === WARNING).length
    const guess = async (codes: number) => {
      const mfaToken = await mfaTokenOf(user)
      for (let i = 0; i < codes; i++) expectError(await verify(mfaToken, wrongCode(user.secret)), 401, 'INVALID_CODE')
    }
    await awayFromStepEdge()
    // Four on one login, so that mfaToken is never spent: the count is the user's.
    await guess(4)
    await expectNever(async () => (await warnings()) > 0, { message: 'a warning before the fifth wrong code', forMs: 300 })
    await guess(1)
    await waitUntil(async () => (await warnings()) === 1, 'the warning is written')
    await guess(5)
    await expectNever(async () => (await warnings()) > 1, { message: 'a second warning within the hour', forMs: 1000 })
  })

  test('a recovery code disables two-factor too', async () => {
    const user = await enrolledUser()
    expect((await call(stack.url, 'DELETE', '/auth/mfa/totp', { token: user.tokens.accessToken, body: { code: user.recoveryCodes[3] } })).status).toBe(204)
  })

  test('neither the secret nor the recovery codes are stored in the clear', async () => {
    const user = await enrolledUser()
    const [factor] = await stack.sql<{ secret_sealed: Buffer }[]>`select secret_sealed from auth.totp_factors where user_id = ${user.id}`
    expect(factor.secret_sealed.includes(user.secret)).toBe(false)
    expect(factor.secret_sealed.includes(Buffer.from(user.secret.toLowerCase()))).toBe(false)
    const codes = await stack.sql<{ code_hash: Buffer }[]>`select code_hash from auth.recovery_codes where user_id = ${user.id}`
    expect(codes).toHaveLength(10)
    const stored = codes.map((row) => row.code_hash.toString('hex')).join()
    for (const code of user.recoveryCodes) expect(stored.includes(Buffer.from(code).toString('hex'))).toBe(false)
    const challenges = await stack.sql<{ token_hash: Buffer }[]>`select token_hash from auth.mfa_challenges where user_id = ${user.id}`
    const mfaToken = await mfaTokenOf(user)
    const after = await stack.sql<{ token_hash: Buffer }[]>`select token_hash from auth.mfa_challenges where user_id = ${user.id}`
    expect(after.length).toBe(challenges.length + 1)
    for (const row of after) expect(row.token_hash.toString()).not.toContain(mfaToken)
  })

  test.each([
    ['a 5-digit code', '12345'],
    ['letters', 'abcdef'],
    ['a 7-digit code', '1234567'],
    ['a recovery code with a character outside base32', 'abcd1-efgh8'],
  ])('verify refuses %s with 422', async (_what, code) => {
    const answer = await verify('some-token', code)
    expectError(answer, 422, 'VALIDATION_FAILED')
    expect(answer.body.details[0].field).toBe('code')
  })

  test('confirm takes only a 6-digit code, not a recovery code', async () => {
    const account = await register(stack.url)
    const tokens = await login(stack.url, account)
    await call(stack.url, 'POST', '/auth/mfa/totp', { token: tokens.accessToken, body: { currentPassword: account.password } })
    expectError(await call(stack.url, 'POST', '/auth/mfa/totp/confirm', { token: tokens.accessToken, body: { code: 'abcde-fghij' } }), 422, 'VALIDATION_FAILED')
  })

  test('the two-factor routes a user calls need a token', async () => {
    expectError(await call(stack.url, 'GET', '/auth/mfa'), 401)
    expectError(await call(stack.url, 'POST', '/auth/mfa/totp', { body: { currentPassword: 'anything at all' } }), 401)
    expectError(await call(stack.url, 'POST', '/auth/mfa/totp/confirm', { body: { code: '123456' } }), 401)
    expectError(await call(stack.url, 'DELETE', '/auth/mfa/totp', { body: { code: '123456' } }), 401)
  })
})

describe('password strength', () => {
  test('registration refuses a guessable password with zxcvbn’s reason in the details', async () => {
    const answer = await call(stack.url, 'POST', '/users', { body: { username: `weak_${Date.now()}`, email: `weak_${Date.now()}@example.com`, password: 'monkey2024' } })
    expectError(answer, 422, 'WEAK_PASSWORD')
    expect(answer.body.details).toEqual([{ field: 'password', message: expect.stringMatching(/^is too easy to guess: .+/) }])
  })

  test('a password change refuses a new password built on the email’s mailbox', async () => {
    const account: Account = await register(stack.url, { email: `zorbly.quantix.${Date.now()}@example.com` })
    const tokens = await login(stack.url, account)
    const answer = await call(stack.url, 'PUT', '/auth/password', { token: tokens.accessToken, body: { currentPassword: account.password, newPassword: 'quantix1815' } })
    expectError(answer, 422, 'WEAK_PASSWORD')
    expect(answer.body.details[0]).toEqual({ field: 'newPassword', message: expect.stringContaining('personal') })
  })
})
