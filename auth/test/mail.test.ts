import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { CLOSE } from '@chat/common/close-codes'
import { call, expectError, login, register, type Account } from '../../test/client'
import { startTestStack, type TestStack } from '../../test/harness'
import { startTestSmtp, type TestSmtp } from '../../test/smtp'
import { expectNever, waitUntil } from '../../test/wait'
import { connect } from '../../test/ws-client'

// Mail through a real SMTP server started here, two auth instances sharing one outbox.

const MAIL_FROM = 'Chat Test <no-reply@chat.test>'
let smtp: TestSmtp
let stack: TestStack
/** Every token a test saw in a mail: none may appear in any log line. */
const seenTokens: string[] = []

beforeAll(async () => {
  smtp = await startTestSmtp()
  stack = await startTestStack({
    auth: 2,
    chat: 1,
    caddyAccessLog: 'stdout',
    env: {
      SMTP_URL: smtp.url,
      MAIL_FROM,
      // Fast retries, so "SMTP down, then back" takes moments; small batches, so both instances claim.
      MAIL_RETRY_BASE_MS: '100',
      MAIL_RETRY_MAX_MS: '400',
      MAIL_POLL_INTERVAL_MS: '200',
      MAIL_BATCH_SIZE: '3',
      MAIL_SEND_TIMEOUT_MS: '2000',
    },
  })
}, 60_000)

afterAll(async () => {
  await stack?.stop()
  await smtp?.stop()
}, 60_000)

const tokenOf = (mail: Parameters<TestSmtp['tokenIn']>[0], page: string) => {
  const token = smtp.tokenIn(mail, page)
  seenTokens.push(token)
  return token
}
const RESET = 'Reset your password'
const CHANGED = 'Your password was changed'
const me = async (token: string) => (await call(stack.url, 'GET', '/users/me', { token })).body

describe('email verification', () => {
  test('invalid links from one client IP, on either route: the 31st answers 429 with Retry-After; a link that works is not counted, and other IPs go on', async () => {
    // Straight to an instance, which trusts loopback's X-Forwarded-For: a client IP of the test's own.
    const authUrl = stack.instancesOf('auth')[0].url
    const ip = `198.51.100.${Math.floor(Math.random() * 250) + 1}`
    const from = (address: string, path: string, body: object) => call(authUrl, 'POST', path, { body, headers: { 'x-forwarded-for': address } })
    const account = await register(stack.url)
    const token = tokenOf(await smtp.waitForMail(account.email), 'verify-email')
    const failTwice = async (i: number) => {
      expectError(await from(ip, '/auth/email/verify', { token: `bogus-${i}` }), 400, 'INVALID_TOKEN')
      expectError(await from(ip, '/auth/password/reset', { token: `bogus-${i}`, newPassword: 'an entirely new passphrase' }), 400, 'INVALID_TOKEN')
    }
    for (let i = 0; i < 14; i++) await failTwice(i)
    // 28 failures, then a link that works: it is not counted, so two more failures reach the limit of 30.
    expect((await from(ip, '/auth/email/verify', { token })).status).toBe(204)
    await failTwice(14)
    const limited = await from(ip, '/auth/password/reset', { token: 'bogus-again', newPassword: 'an entirely new passphrase' })
    expectError(limited, 429, 'RATE_LIMITED')
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0)
    expectError(await from(ip, '/auth/email/verify', { token: 'bogus-again' }), 429, 'RATE_LIMITED')
    expectError(await from('198.51.100.0', '/auth/email/verify', { token: 'bogus-elsewhere' }), 400, 'INVALID_TOKEN')
  })

  test('registration mails a verification link (text and HTML, from MAIL_FROM, to PUBLIC_URL) that verifies the address once', async () => {
    const account = await register(stack.url)
    const created = await call(stack.url, 'GET', '/users/me', { token: (await login(stack.url, account)).accessToken })
    expect(created.body.emailVerified).toBe(false)

    const mail = await smtp.waitForMail(account.email)
    expect(mail.from).toBe('"Chat Test" <no-reply@chat.test>')
    expect(mail.subject).toBe('Confirm your email address')
    const token = tokenOf(mail, 'verify-email')
    expect(mail.text).toContain(`${stack.url}/verify-email?token=${token}`)
    expect(mail.html).toContain(`href="${stack.url}/verify-email?token=${token}"`)

    expect((await call(stack.url, 'POST', '/auth/email/verify', { body: { token } })).status).toBe(204)
    const { accessToken } = await login(stack.url, account)
    expect((await me(accessToken)).emailVerified).toBe(true)
    expectError(await call(stack.url, 'POST', '/auth/email/verify', { body: { token } }), 400, 'INVALID_TOKEN')
  })

  test('an expired link, a tampered one and an unknown one are 400 INVALID_TOKEN and verify nothing', async () => {
    const account = await register(stack.url)
    const token = tokenOf(await smtp.waitForMail(account.email), 'verify-email')
    const tampered = (token[0] === 'A' ? 'B' : 'A') + token.slice(1)
    for (const bad of [tampered, token.slice(0, -1), 'x', 'not a token at all ✓', 'A'.repeat(256)]) {
      expectError(await call(stack.url, 'POST', '/auth/email/verify', { body: { token: bad } }), 400, 'INVALID_TOKEN')
    }
    await stack.sql`update auth.email_tokens set expires_at = now() - interval '1 second' where user_id = ${account.id}`
    expectError(await call(stack.url, 'POST', '/auth/email/verify', { body: { token } }), 400, 'INVALID_TOKEN')
    expect((await me((await login(stack.url, account)).accessToken)).emailVerified).toBe(false)
  })

  test('resend mails a new link, and is limited per user', async () => {
    const account = await register(stack.url)
    await smtp.waitForMail(account.email)
    const { accessToken } = await login(stack.url, account)
    expect((await call(stack.url, 'POST', '/auth/email/verify/resend', { token: accessToken })).status).toBe(202)
    const second = tokenOf(await smtp.waitForMail(account.email, { count: 2 }), 'verify-email')
    expect((await call(stack.url, 'POST', '/auth/email/verify', { body: { token: second } })).status).toBe(204)
    for (let i = 0; i < 4; i++) expect((await call(stack.url, 'POST', '/auth/email/verify/resend', { token: accessToken })).status).toBe(202)
    const limited = await call(stack.url, 'POST', '/auth/email/verify/resend', { token: accessToken })
    expectError(limited, 429, 'RATE_LIMITED')
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0)
    // Verified already: the accepted resends sent nothing more.
    expect(smtp.mailsTo(account.email)).toHaveLength(2)
    expectError(await call(stack.url, 'POST', '/auth/email/verify/resend'), 401)
  })

  test('changing the email needs the current password, mails both addresses and makes emailVerified false', async () => {
    const account = await register(stack.url)
    const first = tokenOf(await smtp.waitForMail(account.email), 'verify-email')
    await call(stack.url, 'POST', '/auth/email/verify', { body: { token: first } })
    const { accessToken } = await login(stack.url, account)
    const newEmail = `new-${account.email}`

    expectError(await call(stack.url, 'PATCH', '/users/me', { token: accessToken, body: { email: newEmail } }), 422, 'VALIDATION_FAILED')
    expectError(await call(stack.url, 'PATCH', '/users/me', { token: accessToken, body: { email: newEmail, currentPassword: 'wrong password' } }), 403, 'INVALID_PASSWORD')
    const changed = await call(stack.url, 'PATCH', '/users/me', { token: accessToken, body: { email: newEmail, currentPassword: account.password } })
    expect(changed.status).toBe(200)
    expect([changed.body.email, changed.body.emailVerified]).toEqual([newEmail, false])

    const notice = await smtp.waitForMail(account.email, { subject: 'Your email address was changed' })
    expect(notice.text).not.toContain(newEmail)
    const token = tokenOf(await smtp.waitForMail(newEmail), 'verify-email')
    expect((await call(stack.url, 'POST', '/auth/email/verify', { body: { token } })).status).toBe(204)
    expect((await me(accessToken)).emailVerified).toBe(true)
    // The same address again (another letter case) is no change: no password, no mail, still verified.
    const same = await call(stack.url, 'PATCH', '/users/me', { token: accessToken, body: { email: newEmail.toUpperCase() } })
    expect([same.status, same.body.emailVerified]).toEqual([200, true])
  })

  test('a link mailed to a former address verifies nothing', async () => {
    const account = await register(stack.url)
    const oldLink = tokenOf(await smtp.waitForMail(account.email), 'verify-email')
    const { accessToken } = await login(stack.url, account)
    await call(stack.url, 'PATCH', '/users/me', { token: accessToken, body: { email: `moved-${account.email}`, currentPassword: account.password } })
    expectError(await call(stack.url, 'POST', '/auth/email/verify', { body: { token: oldLink } }), 400, 'INVALID_TOKEN')
    expect((await me(accessToken)).emailVerified).toBe(false)
  })

  test('while the user service is unreachable a verification answers 503 and leaves the link unspent', async () => {
    const account = await register(stack.url)
    const token = tokenOf(await smtp.waitForMail(account.email), 'verify-email')
    const [user] = stack.instancesOf('user')
    await stack.kill(user)
    try {
      expectError(await call(stack.url, 'POST', '/auth/email/verify', { body: { token } }), 503, 'DEPENDENCY_DOWN')
      const [row] = await stack.sql<{ used: boolean }[]>`select used_at is not null as used from auth.email_tokens where user_id = ${account.id}`
      expect(row.used).toBe(false)
    } finally {
      await stack.startInstance('user', { port: user.port })
    }
    expect((await call(stack.url, 'POST', '/auth/email/verify', { body: { token } })).status).toBe(204)
    await waitUntil(async () => (await me((await login(stack.url, account)).accessToken)).emailVerified === true, 'the profile shows the address verified')
  })
})

describe('password reset', () => {
  const forgot = (email: string) => call(stack.url, 'POST', '/auth/password/forgot', { body: { email } })

  test('forgot answers a known and an unknown address identically; the 4th request in an hour sends nothing', async () => {
    const account = await register(stack.url)
    const unknown = await forgot(`nobody-${account.email}`)
    const answers = []
    for (let i = 0; i < 4; i++) answers.push(await forgot(account.email.toUpperCase()))
    for (const answer of [unknown, ...answers]) expect({ status: answer.status, body: answer.body }).toEqual({ status: 202, body: unknown.body })

    await smtp.waitForMail(account.email, { subject: RESET, count: 3 })
    await expectNever(() => smtp.mailsTo(account.email).length > 4, { message: 'a 4th reset mail arrived', forMs: 1500 })
    expect(smtp.mailsTo(account.email).map((mail) => mail.subject).sort()).toEqual(['Confirm your email address', RESET, RESET, RESET])
    expect(smtp.mailsTo(`nobody-${account.email}`)).toHaveLength(0)
  })

  test('a reset sets the new password, revokes every session, closes the sockets and mails a notice; the link works once', async () => {
    const account = await register(stack.url)
    const tokens = await login(stack.url, account)
    const socket = await connect(stack.url, tokens.accessToken)
    await forgot(account.email)
    const token = tokenOf(await smtp.waitForMail(account.email, { subject: RESET }), 'reset-password')
    const newPassword = 'a brand new passphrase'

    expectError(await call(stack.url, 'POST', '/auth/password/reset', { body: { token, newPassword: 'password123' } }), 422, 'WEAK_PASSWORD')
    expect((await call(stack.url, 'POST', '/auth/password/reset', { body: { token, newPassword } })).status).toBe(204)
    expect((await socket.closed).code).toBe(CLOSE.REVOKED)
    await waitUntil(async () => (await call(stack.url, 'GET', '/users/me', { token: tokens.accessToken })).status === 401, 'the old session is refused')
    expectError(await call(stack.url, 'POST', '/auth/refresh', { body: { refreshToken: tokens.refreshToken } }), 401)
    expectError(await call(stack.url, 'POST', '/auth/login', { body: { login: account.username, password: account.password } }), 401, 'INVALID_CREDENTIALS')
    await login(stack.url, { ...account, password: newPassword })
    await smtp.waitForMail(account.email, { subject: CHANGED })

    expectError(await call(stack.url, 'POST', '/auth/password/reset', { body: { token, newPassword: 'yet another passphrase' } }), 400, 'INVALID_TOKEN')
    await login(stack.url, { ...account, password: newPassword })
  })

  test('an expired, tampered or unknown reset token is 400 INVALID_TOKEN and changes nothing', async () => {
    const account = await register(stack.url)
    await forgot(account.email)
    const token = tokenOf(await smtp.waitForMail(account.email, { subject: RESET }), 'reset-password')
    const newPassword = 'a brand new passphrase'
    for (const bad of [token.slice(1), `${token}x`, 'x']) {
      expectError(await call(stack.url, 'POST', '/auth/password/reset', { body: { token: bad, newPassword } }), 400, 'INVALID_TOKEN')
    }
    await stack.sql`update auth.email_tokens set expires_at = now() - interval '1 second' where user_id = ${account.id} and purpose = 'reset_password'`
    expectError(await call(stack.url, 'POST', '/auth/password/reset', { body: { token, newPassword } }), 400, 'INVALID_TOKEN')
    await login(stack.url, account)
  })

  test('a password change mails "your password was changed"', async () => {
    const account = await register(stack.url)
    const { accessToken } = await login(stack.url, account)
    const changed = await call(stack.url, 'PUT', '/auth/password', { token: accessToken, body: { currentPassword: account.password, newPassword: 'a brand new passphrase' } })
    expect(changed.status).toBe(204)
    await smtp.waitForMail(account.email, { subject: CHANGED })
  })
})

describe('the outbox', () => {
  test('with the SMTP server down nothing is lost: the mail goes out once it is back; meanwhile its link is not readable in the outbox', async () => {
    await smtp.stop()
    let account: Account
    let waiting: unknown
    try {
      account = await register(stack.url)
      await waitUntil(
        async () => (await stack.sql<{ attempts: number }[]>`select attempts from auth.outbox where user_id = ${account.id}`).some((row) => row.attempts >= 2),
        'the mail has failed at least twice',
      )
      expect(smtp.mailsTo(account.email)).toHaveLength(0)
      waiting = (await stack.sql<{ data: unknown }[]>`select data from auth.outbox where user_id = ${account.id}`)[0].data
    } finally {
      await smtp.start()
    }
    const token = tokenOf(await smtp.waitForMail(account.email), 'verify-email')
    // Sealed while it waited: whoever reads the database cannot use a link not sent yet.
    expect(JSON.stringify(waiting)).not.toContain(token)
    await waitUntil(async () => (await stack.sql`select 1 from auth.outbox where user_id = ${account.id}`).length === 0, 'the sent row is gone')
  })

  test('two auth instances claiming the same outbox send every mail exactly once', async () => {
    expect(stack.instancesOf('auth')).toHaveLength(2)
    // Queued at once, as many transactions would, and found by both instances' polls.
    const batch = crypto.randomUUID().slice(0, 8)
    const recipients = Array.from({ length: 40 }, (_, i) => `bulk-${batch}-${i}@example.com`)
    await stack.sql`
      insert into auth.outbox (kind, recipient, data)
      select 'password_changed', recipient, '{"username":"bulk"}'::jsonb from unnest(${recipients}::text[]) as recipient`
    for (const recipient of recipients) await smtp.waitForMail(recipient)
    await expectNever(() => recipients.some((recipient) => smtp.mailsTo(recipient).length > 1), { message: 'a mail was delivered twice', forMs: 1500 })
    expect(new Set(recipients.map((recipient) => smtp.mailsTo(recipient)[0].messageId)).size).toBe(recipients.length)
  })

  // During a rolling deploy an older instance may claim a mail a newer one queued.
  test('a mail of a kind this version does not know is tried again later, not given up', async () => {
    const [row] = await stack.sql<{ id: string }[]>`
      insert into auth.outbox (kind, recipient, data) values ('from_a_newer_version', 'future@example.com', '{}'::jsonb) returning id`
    const tried = async () => (await stack.sql<{ failed_at: Date | null; last_error: string | null }[]>`select failed_at, last_error from auth.outbox where id = ${row.id}`)[0]
    await waitUntil(async () => (await tried()).last_error !== null, 'the mail was tried')
    const claimed = await tried()
    expect(claimed.failed_at).toBeNull()
    expect(claimed.last_error).toContain('unknown to this version')
    await stack.sql`delete from auth.outbox where id = ${row.id}`
  })

  test('no token from any mail appears in any log line, of the services or of Caddy', async () => {
    expect(seenTokens.length).toBeGreaterThan(5)
    // A browser opening the links, as Caddy's access log sees it.
    for (const token of seenTokens.slice(0, 2)) {
      for (const page of ['verify-email', 'reset-password']) await (await fetch(`${stack.url}/${page}?token=${token}`, { headers: { accept: 'text/html' } })).arrayBuffer()
    }
    const logText = async () => {
      let text = ''
      for (const file of await readdir(stack.logDir)) text += await Bun.file(join(stack.logDir, file)).text()
      return text
    }
    await waitUntil(async () => (await logText()).includes('/reset-password?token=REDACTED'), "the links' requests are in Caddy's access log")
    const text = await logText()
    expect(text).toContain('"msg":"request"')
    for (const token of seenTokens) expect(text.includes(token)).toBe(false)
  })
})
