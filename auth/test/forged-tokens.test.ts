import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { generateKeyPairSync, createPublicKey, createHmac } from 'node:crypto'
import { SignJWT, exportJWK } from 'jose'
import { startTestStack, type TestStack } from '../../test/harness'
import { call, expectError, login, register, type Tokens } from '../../test/client'

let stack: TestStack
let tokens: Tokens
let userId: string
beforeAll(async () => {
  stack = await startTestStack()
  const account = await register(stack.url)
  userId = account.id
  tokens = await login(stack.url, account)
})
afterAll(() => stack?.stop())

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString())

/** Every protected route of auth and user, with a body that would otherwise be valid. */
const PROTECTED_ROUTES: [string, string, unknown?][] = [
  ['GET', '/users/me'],
  ['PATCH', '/users/me', { bio: 'forged' }],
  ['DELETE', '/users/me', { password: 'whatever' }],
  ['GET', '/users?q=a'],
  ['GET', '/users/00000000-0000-4000-8000-000000000000'],
  ['GET', '/auth/sessions'],
  ['DELETE', '/auth/sessions/00000000-0000-4000-8000-000000000000'],
  ['POST', '/auth/logout', {}],
  ['PUT', '/auth/password', { currentPassword: 'whatever', newPassword: 'another long one' }],
  ['GET', '/auth/mfa'],
  ['POST', '/auth/mfa/totp', { currentPassword: 'anything at all' }],
  ['POST', '/auth/mfa/totp/confirm', { code: '123456' }],
  ['DELETE', '/auth/mfa/totp', { code: '123456' }],
]

async function forgeries(): Promise<Record<string, string>> {
  const [header, payload] = tokens.accessToken.split('.')
  const claims = decode(payload)
  const realHeader = decode(header)
  const now = Math.floor(Date.now() / 1000)
  const jwks = (await call(stack.url, 'GET', '/auth/.well-known/jwks.json')).body
  const publicPem = createPublicKey({ key: jwks.keys[0], format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString()
  const other = generateKeyPairSync('ed25519')
  const signWithOtherKey = (head: Record<string, unknown>, body: Record<string, unknown>) =>
    new SignJWT(body).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', ...head } as any).sign(other.privateKey)
  const hs256 = (head: string, body: string) => `${head}.${body}.${createHmac('sha256', publicPem).update(`${head}.${body}`).digest('base64url')}`
  const hsHeader = b64({ alg: 'HS256', typ: 'at+jwt', kid: realHeader.kid })

  return {
    'alg none': `${b64({ alg: 'none', typ: 'at+jwt' })}.${payload}.`,
    'HS256 signed with the public key': hs256(hsHeader, payload),
    'signed by another key with the real kid': await signWithOtherKey({ kid: realHeader.kid }, claims),
    'inline jwk header': await signWithOtherKey({ jwk: await exportJWK(other.publicKey) }, claims),
    'jku header': await signWithOtherKey({ jku: 'http://127.0.0.1:1/jwks.json', kid: 'x' }, claims),
    'odd kid': await signWithOtherKey({ kid: '../../../../etc/passwd' }, claims),
    'tampered payload': `${header}.${b64({ ...claims, sub: '00000000-0000-4000-8000-000000000000' })}.${tokens.accessToken.split('.')[2]}`,
    'expired': await signWithOtherKey({ kid: realHeader.kid }, { ...claims, iat: now - 3600, exp: now - 1800 }),
    'wrong iss': await signWithOtherKey({ kid: realHeader.kid }, { ...claims, iss: 'https://evil.example' }),
    'wrong aud': await signWithOtherKey({ kid: realHeader.kid }, { ...claims, aud: 'someone-else' }),
    'refresh token used as an access token': tokens.refreshToken,
    'garbage': 'not.a.jwt',
    'empty bearer': '',
  }
}

describe('forged tokens', () => {
  test('every protected route refuses every forgery with 401, and the real token still works afterwards', async () => {
    const forged = await forgeries()
    const failures: string[] = []
    for (const [name, token] of Object.entries(forged)) {
      for (const [method, path, body] of PROTECTED_ROUTES) {
        const answer = await call(stack.url, method, path, { token, body })
        if (answer.status !== 401 || typeof answer.body.error !== 'string') failures.push(`${name}: ${method} ${path} → ${answer.status}`)
      }
    }
    expect(failures).toEqual([])
    const me = await call(stack.url, 'GET', '/users/me', { token: tokens.accessToken })
    expect(me.status).toBe(200)
    expect(me.body.id).toBe(userId)
    const [{ count }] = await stack.sql`select count(*)::int as count from auth.sessions where user_id = ${userId} and revoked_at is null`
    expect(count).toBe(1)
  })

  test('the real token signed by the service is refused when its signature is moved onto another payload', async () => {
    const [header, payload, signature] = tokens.accessToken.split('.')
    const claims = decode(payload)
    const longer = `${header}.${b64({ ...claims, exp: claims.exp + 3600 })}.${signature}`
    expectError(await call(stack.url, 'GET', '/users/me', { token: longer }), 401, 'INVALID_TOKEN')
  })

  test('a missing Authorization header gets 401 UNAUTHENTICATED', async () => {
    expectError(await call(stack.url, 'GET', '/users/me'), 401, 'UNAUTHENTICATED')
    expectError(await call(stack.url, 'GET', '/auth/sessions', { headers: { authorization: 'Basic abc' } }), 401, 'UNAUTHENTICATED')
  })
})
