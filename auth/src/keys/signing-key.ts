import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { jwt } from '@elysiajs/jwt'
import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose'
import { readOrCreateDevSecret } from '@chat/common/dev-secrets'
import { ACCESS_TOKEN_ALGORITHM, ACCESS_TOKEN_TYPE } from '@chat/common/tokens'
import type { AuthConfig } from '../config'

export type SigningKey = { privateKey: KeyObject; publicKey: KeyObject; kid: string; publicJwk: JWK }

/**
 * The Ed25519 key only this service holds. Production passes it in JWT_PRIVATE_KEY; in
 * development one is generated once into the git-ignored data folder, shared by every
 * local auth instance.
 */
export async function loadSigningKey(config: AuthConfig): Promise<SigningKey> {
  const pem = config.JWT_PRIVATE_KEY ?? developmentKeyPem(config)
  let privateKey: KeyObject
  try {
    privateKey = createPrivateKey(pem.replaceAll('\\n', '\n'))
  } catch {
    console.error('config: JWT_PRIVATE_KEY is invalid: expected a PKCS#8 PEM Ed25519 private key (value hidden)')
    process.exit(1)
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    console.error(`config: JWT_PRIVATE_KEY is invalid: expected an Ed25519 key, got ${privateKey.asymmetricKeyType}`)
    process.exit(1)
  }
  const publicKey = createPublicKey(privateKey)
  const jwk = await exportJWK(publicKey)
  const kid = await calculateJwkThumbprint(jwk)
  return { privateKey, publicKey, kid, publicJwk: { ...jwk, kid, alg: ACCESS_TOKEN_ALGORITHM, use: 'sig' } }
}

function developmentKeyPem(config: AuthConfig): string {
  if (config.NODE_ENV === 'production') {
    console.error('config: JWT_PRIVATE_KEY is required in production (PKCS#8 PEM Ed25519 private key)')
    process.exit(1)
  }
  return readOrCreateDevSecret('jwt-ed25519.pem', () =>
    generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  )
}

export type AccessTokenSigner = (subject: { userId: string; sessionId: string }) => Promise<{ token: string; expiresIn: number }>

/**
 * Signs with @elysiajs/jwt, used outside any request through the plugin's decorator: one
 * plugin per key, so the key's `kid` is in every header and a rotated key simply gets a
 * signer of its own. Verification stays with jose (common/tokens.ts).
 */
export function createAccessTokenSigner(key: SigningKey, config: AuthConfig): AccessTokenSigner {
  const ttl = config.ACCESS_TOKEN_TTL_SECONDS
  const { accessToken } = jwt({
    name: 'accessToken',
    secret: key.privateKey,
    alg: ACCESS_TOKEN_ALGORITHM,
    typ: ACCESS_TOKEN_TYPE,
    kid: key.kid,
    iss: config.JWT_ISSUER,
    aud: config.JWT_AUDIENCE,
  }).decorator
  return async ({ userId, sessionId }) => {
    // `iat` is set by the plugin to the signing time.
    const exp = Math.floor(Date.now() / 1000) + ttl
    const token = await accessToken.sign({ sub: userId, sid: sessionId, jti: crypto.randomUUID(), exp })
    return { token, expiresIn: ttl }
  }
}
