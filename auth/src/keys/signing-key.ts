import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { calculateJwkThumbprint, exportJWK, SignJWT, type JWK } from 'jose'
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

export function createAccessTokenSigner(key: SigningKey, config: AuthConfig): AccessTokenSigner {
  const ttl = config.ACCESS_TOKEN_TTL_SECONDS
  return async ({ userId, sessionId }) => {
    const now = Math.floor(Date.now() / 1000)
    const token = await new SignJWT({ sid: sessionId })
      .setProtectedHeader({ alg: ACCESS_TOKEN_ALGORITHM, typ: ACCESS_TOKEN_TYPE, kid: key.kid })
      .setIssuer(config.JWT_ISSUER)
      .setAudience(config.JWT_AUDIENCE)
      .setSubject(userId)
      .setJti(crypto.randomUUID())
      .setIssuedAt(now)
      .setExpirationTime(now + ttl)
      .sign(key.privateKey)
    return { token, expiresIn: ttl }
  }
}
