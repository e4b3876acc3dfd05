import { Elysia } from 'elysia'
import { createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey, type CryptoKey, type KeyObject } from 'jose'
import { AppError } from './errors'
import { parsePeerUrls } from './internal'
import type { RevocationList } from './revocation'

/** Only this algorithm is accepted; `none`, HS* and anything else fail before any key is used. */
export const ACCESS_TOKEN_ALGORITHM = 'EdDSA'
/** JOSE `typ` of access tokens, so no other JWT the auth service might mint passes as one. */
export const ACCESS_TOKEN_TYPE = 'at+jwt'
/** Verified tokens kept in memory until they expire; bounded so memory stays flat. */
const VERIFIED_CACHE_MAX = 50_000

export type AccessClaims = { userId: string; sessionId: string; tokenId: string; expiresAt: number }

export type VerifyResult =
  | { ok: true; claims: AccessClaims }
  | { ok: false; code: 'INVALID_TOKEN' | 'TOKEN_EXPIRED' | 'TOKEN_REVOKED' | 'DEPENDENCY_DOWN' }

export type TokenVerifier = { verify(token: string): Promise<VerifyResult> }

type KeySource = JWTVerifyGetKey | CryptoKey | KeyObject

/** Each auth instance's key set is fetched once, and again only on an unknown `kid` (at most every 30 s) or once it is an hour old. */
export const KEY_SET_OPTIONS = { cooldownDuration: 30_000, cacheMaxAge: 60 * 60_000, timeoutDuration: 3000 }
/** After no auth instance could serve its key set, they are asked again only after this long (the key set served last is used meanwhile). */
const KEY_SET_RETRY_MS = 5000

/** No listed auth instance could serve its key set; verification answers 503, not 401. */
export class KeySetUnavailable extends Error {}

/**
 * Verifiers outside the auth service read its published key set. `jwksUrls` lists the key
 * set URL of every auth instance (comma-separated): they are tried in turn, starting with
 * the last one that answered, so one dead instance costs a refused connection, not an outage.
 * While none answers (an auth outage), the key set served last still verifies what it
 * signed: the tokens already handed out keep working, and each request does not wait for
 * the key set's timeout again. A `kid` it does not know then answers 503, not "invalid".
 */
export function remoteKeySet(jwksUrls: string, options = KEY_SET_OPTIONS): JWTVerifyGetKey {
  const sources = parsePeerUrls(jwksUrls).map((url) => createRemoteJWKSet(new URL(url), options))
  let preferred = 0
  let askAgainAt = 0
  /** The key set served last, as a local set built once per outage (it keeps its imported keys). */
  let fallback: JWTVerifyGetKey | null = null

  const lastServed = async (header: Parameters<JWTVerifyGetKey>[0], token: Parameters<JWTVerifyGetKey>[1], cause: unknown) => {
    if (fallback === null) {
      const known = sources[preferred].jwks() ?? sources.map((source) => source.jwks()).find((jwks) => jwks !== undefined)
      if (known === undefined) throw new KeySetUnavailable('No auth instance served its key set', { cause })
      fallback = createLocalJWKSet(known)
    }
    try {
      return await fallback(header, token)
    } catch (error) {
      if (error instanceof joseErrors.JWKSNoMatchingKey) throw new KeySetUnavailable('The key is not in the key set served last', { cause })
      throw error
    }
  }

  return async (header, token) => {
    if (Date.now() < askAgainAt) return lastServed(header, token, null)
    let lastError: unknown
    for (let tried = 0; tried < sources.length; tried++) {
      const index = (preferred + tried) % sources.length
      try {
        const key = await sources[index](header, token)
        preferred = index
        fallback = null
        return key
      } catch (error) {
        if (!isKeySetFetchFailure(error)) throw error
        lastError = error
      }
    }
    askAgainAt = Date.now() + KEY_SET_RETRY_MS
    return lastServed(header, token, lastError)
  }
}

/** Unreachable, timed out, or an answer that is not a key set; an unknown `kid` is not one of these. */
function isKeySetFetchFailure(error: unknown): boolean {
  return error instanceof TypeError || error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid || (error as Error | null)?.constructor === joseErrors.JOSEError
}

/**
 * Local verification: signature, algorithm allow-list, `typ`, `iss`, `aud`, `exp` and the
 * claims the services rely on. A signature checked once is cached until the token expires;
 * the blacklist is consulted on every call, from memory.
 */
export function createTokenVerifier(options: {
  keys: KeySource
  issuer: string
  audience: string
  revocations: Pick<RevocationList, 'isRevoked'>
}): TokenVerifier {
  const verified = new Map<string, AccessClaims>()

  const checkSignature = async (token: string): Promise<VerifyResult> => {
    try {
      const { payload } = await jwtVerify(token, options.keys as JWTVerifyGetKey, {
        algorithms: [ACCESS_TOKEN_ALGORITHM],
        typ: ACCESS_TOKEN_TYPE,
        issuer: options.issuer,
        audience: options.audience,
        requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp'],
      })
      if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string' || typeof payload.jti !== 'string') {
        return { ok: false, code: 'INVALID_TOKEN' }
      }
      return { ok: true, claims: { userId: payload.sub, sessionId: payload.sid, tokenId: payload.jti, expiresAt: payload.exp! * 1000 } }
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) return { ok: false, code: 'TOKEN_EXPIRED' }
      if (error instanceof KeySetUnavailable || error instanceof joseErrors.JWKSTimeout || error instanceof TypeError) return { ok: false, code: 'DEPENDENCY_DOWN' }
      return { ok: false, code: 'INVALID_TOKEN' }
    }
  }

  return {
    async verify(token) {
      let claims = verified.get(token)
      if (claims === undefined) {
        const result = await checkSignature(token)
        if (!result.ok) return result
        claims = result.claims
        if (verified.size >= VERIFIED_CACHE_MAX) verified.delete(verified.keys().next().value!)
        verified.set(token, claims)
      }
      if (claims.expiresAt <= Date.now()) {
        verified.delete(token)
        return { ok: false, code: 'TOKEN_EXPIRED' }
      }
      if (options.revocations.isRevoked(claims.sessionId)) return { ok: false, code: 'TOKEN_REVOKED' }
      return { ok: true, claims }
    },
  }
}

const FAILURE_MESSAGE = {
  INVALID_TOKEN: 'The access token is invalid',
  TOKEN_EXPIRED: 'The access token has expired',
  TOKEN_REVOKED: 'The access token has been revoked',
  DEPENDENCY_DOWN: 'Token keys are unavailable, try again shortly',
} as const

export function bearerToken(header: string | undefined | null): string | null {
  if (!header) return null
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
  return match === null ? null : match[1]
}

/** Checks a Bearer token and returns its claims, or throws the contract's 401/503. */
export async function authenticate(verifier: TokenVerifier, header: string | undefined | null): Promise<AccessClaims> {
  const token = bearerToken(header)
  if (token === null) throw new AppError('UNAUTHENTICATED', 'Send Authorization: Bearer <accessToken>')
  const result = await verifier.verify(token)
  if (!result.ok) throw new AppError(result.code, FAILURE_MESSAGE[result.code])
  return result.claims
}

/**
 * Routes declared with `{ auth: true }` get `auth` (the caller's claims) or answer 401.
 * The plugin is named so Elysia applies it once however many controllers use it.
 */
export function authGuard(verifier: TokenVerifier) {
  return new Elysia({ name: 'auth-guard' }).macro({
    auth: {
      async resolve({ headers }) {
        return { auth: await authenticate(verifier, headers.authorization) }
      },
      detail: { security: [{ bearerAuth: [] }] },
    },
  })
}
