import { describe, expect, test } from 'bun:test'
import { renderRow, retryDelayMs } from './outbox'
import { sealMailToken } from './sealed-token'

const config = { MAIL_RETRY_BASE_MS: 2000, MAIL_RETRY_MAX_MS: 600_000 }
const KEY = Buffer.alloc(32, 7)

describe('outbox retries', () => {
  test('the wait doubles with each failed attempt, within the upper half of its ceiling', () => {
    expect([1, 2, 3, 4].map((attempt) => retryDelayMs(config, attempt, 0.999_999))).toEqual([2000, 4000, 8000, 16_000])
    expect([1, 2, 3, 4].map((attempt) => retryDelayMs(config, attempt, 0))).toEqual([1000, 2000, 4000, 8000])
  })

  test('the wait is capped, however many attempts failed', () => {
    expect(retryDelayMs(config, 9, 0.999_999)).toBe(512_000)
    expect(retryDelayMs(config, 10, 0.999_999)).toBe(600_000)
    expect(retryDelayMs(config, 10_000, 0.999_999)).toBe(600_000)
  })
})

describe('rendering a claimed row', () => {
  const row = { id: '00000000-0000-4000-8000-000000000000', recipient: 'ada@example.com', attempts: 1 }

  test('a row of a known kind with fitting data becomes a mail to its recipient', () => {
    const mail = renderRow({ ...row, kind: 'password_changed', data: { username: 'ada' } }, 'http://localhost:8080', KEY)
    expect(mail).toMatchObject({ id: row.id, to: 'ada@example.com', subject: 'Your password was changed' })
  })

  test("a link's token is sealed in the row and opened only in the mail", () => {
    const token = 'abcdefghijklmnopqrstuvwxyz0123456789-_ABCDE'
    const sealed = sealMailToken(KEY, 'reset_password', token)
    expect(sealed).not.toContain(token)
    const mail = renderRow({ ...row, kind: 'reset_password', data: { username: 'ada', token: sealed, validMinutes: 30 } }, 'http://localhost:8080', KEY)
    expect(mail!.text).toContain(`reset-password?token=${token}`)
    // Another key, or a token sealed for another kind of mail, does not open: no mail.
    expect(renderRow({ ...row, kind: 'reset_password', data: { username: 'ada', token: sealed, validMinutes: 30 } }, 'http://localhost:8080', Buffer.alloc(32, 8))).toBeNull()
    expect(renderRow({ ...row, kind: 'verify_email', data: { username: 'ada', token: sealed, validMinutes: 30 } }, 'http://localhost:8080', KEY)).toBeNull()
    // Queued before tokens were sealed: sent as it is.
    expect(renderRow({ ...row, kind: 'verify_email', data: { username: 'ada', token, validMinutes: 30 } }, 'http://localhost:8080', KEY)!.text).toContain(token)
  })

  test('an unknown kind, an unresolved reset request or data that does not fit its template gives no mail', () => {
    expect(renderRow({ ...row, kind: 'newsletter', data: {} }, 'http://localhost:8080', KEY)).toBeNull()
    expect(renderRow({ ...row, kind: 'reset_request', data: {} }, 'http://localhost:8080', KEY)).toBeNull()
    expect(renderRow({ ...row, kind: 'reset_password', data: { username: 'ada' } }, 'http://localhost:8080', KEY)).toBeNull()
  })
})
