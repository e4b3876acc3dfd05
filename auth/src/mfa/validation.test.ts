import { describe, expect, test } from 'bun:test'
import { loadConfig } from '@chat/common/config'
import { createServiceApp } from '@chat/common/http'
import type { Logger } from '@chat/common/logger'
import { AuthConfig } from '../config'
import type { AuthDeps } from '../deps'
import { mfaController } from '.'

/**
 * The two-factor routes' validation in-process, through `app.handle`: a malformed code or
 * token is answered before any handler, store or token check runs (the stores here are
 * empty stand-ins that would fail if touched). The real-process side is auth/test/mfa.test.ts.
 */

const config = loadConfig(AuthConfig, {})
const log: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} }
const untouched = {} as never
const deps = { config, log, sql: untouched, redis: untouched, verifier: untouched, mfaKey: Buffer.alloc(32) } as unknown as AuthDeps
const app = createServiceApp({ service: 'auth', prefix: '/auth', config, log, sql: untouched, redis: untouched, openapi: { title: 'Auth', description: 'Auth' } }).use(
  mfaController(deps),
)

async function send(method: string, path: string, body: unknown) {
  const response = await app.handle(new Request(`http://localhost${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }))
  return { status: response.status, body: (await response.json()) as { error: string; details?: { field: string }[] } }
}

const MALFORMED = ['', '12345', '1234567', 'abcdef', '12 3456', '１２３４５６', 'abcd1-efgh8', 'abcde--fghij', 'abcde-fghijk', '123456\n']

describe('two-factor codes that are not six digits or a recovery code get 422 naming the field', () => {
  test.each(MALFORMED)('POST /auth/mfa/verify with code %p', async (code) => {
    const answer = await send('POST', '/auth/mfa/verify', { mfaToken: 'x', code })
    expect(answer.status).toBe(422)
    expect(answer.body.error).toBe('VALIDATION_FAILED')
    expect(answer.body.details?.map((detail) => detail.field)).toEqual(['code'])
  })

  test.each(MALFORMED)('DELETE /auth/mfa/totp with code %p', async (code) => {
    const answer = await send('DELETE', '/auth/mfa/totp', { code })
    expect(answer.status).toBe(422)
    expect(answer.body.details?.map((detail) => detail.field)).toEqual(['code'])
  })

  test.each([...MALFORMED, 'abcde-fghij', 'ABCDEFGHIJ'])('POST /auth/mfa/totp/confirm with code %p (a recovery code too: only the app proves the secret)', async (code) => {
    const answer = await send('POST', '/auth/mfa/totp/confirm', { code })
    expect(answer.status).toBe(422)
    expect(answer.body.details?.map((detail) => detail.field)).toEqual(['code'])
  })
})

describe('the verify body', () => {
  test('an mfaToken of more than 512 characters, a missing one or an unknown field get 422', async () => {
    expect((await send('POST', '/auth/mfa/verify', { mfaToken: 'm'.repeat(513), code: '123456' })).body.details?.[0].field).toBe('mfaToken')
    expect((await send('POST', '/auth/mfa/verify', { code: '123456' })).body.details?.[0].field).toBe('mfaToken')
    expect((await send('POST', '/auth/mfa/verify', { mfaToken: 'x', code: '123456', userId: 'someone' })).status).toBe(422)
  })
})
