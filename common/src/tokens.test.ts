import { afterAll, describe, expect, test } from 'bun:test'
import { generateKeyPair, exportJWK, SignJWT, type JWK } from 'jose'
import { ACCESS_TOKEN_ALGORITHM, ACCESS_TOKEN_TYPE, createTokenVerifier, KEY_SET_OPTIONS, remoteKeySet } from './tokens'

const ISSUER = 'http://localhost/auth'
const AUDIENCE = 'chat-api'

async function signingKey(kid: string) {
  const { publicKey, privateKey } = await generateKeyPair(ACCESS_TOKEN_ALGORITHM, { extractable: true })
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: ACCESS_TOKEN_ALGORITHM, use: 'sig' }
  const sign = () =>
    new SignJWT({ sid: crypto.randomUUID() })
      .setProtectedHeader({ alg: ACCESS_TOKEN_ALGORITHM, typ: ACCESS_TOKEN_TYPE, kid })
      .setSubject(crypto.randomUUID())
      .setJti(crypto.randomUUID())
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey)
  return { jwk, sign }
}

/** A stand-in for the auth service's key set: it can be taken down, as in an auth outage. */
const served = { keys: [] as JWK[], up: true }
const auth = Bun.serve({ port: 0, fetch: () => (served.up ? Response.json({ keys: served.keys }) : new Response('down', { status: 503 })) })
afterAll(() => auth.stop(true))

describe('the key set during an auth outage', () => {
  test('tokens signed with a key served before keep verifying; an unknown key is 503, not "invalid"', async () => {
    const [current, unseen] = [await signingKey('current'), await signingKey('unseen')]
    served.keys = [current.jwk]
    served.up = true
    // Every verification asks again (as once the cached set is an hour old).
    const keys = remoteKeySet(`${auth.url.origin}/jwks`, { ...KEY_SET_OPTIONS, cacheMaxAge: 0, cooldownDuration: 0 })
    const verifier = createTokenVerifier({ keys, issuer: ISSUER, audience: AUDIENCE, revocations: { isRevoked: () => false } })
    expect((await verifier.verify(await current.sign())).ok).toBe(true)

    served.up = false
    expect((await verifier.verify(await current.sign())).ok).toBe(true)
    expect(await verifier.verify(await unseen.sign())).toEqual({ ok: false, code: 'DEPENDENCY_DOWN' })
  })

  test('with no key set ever served, verification is 503', async () => {
    served.up = false
    const keys = remoteKeySet(`${auth.url.origin}/jwks`)
    const verifier = createTokenVerifier({ keys, issuer: ISSUER, audience: AUDIENCE, revocations: { isRevoked: () => false } })
    expect(await verifier.verify(await (await signingKey('any')).sign())).toEqual({ ok: false, code: 'DEPENDENCY_DOWN' })
  })
})
