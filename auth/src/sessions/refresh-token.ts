import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto'

/** 256 bits of randomness: opaque, unguessable, and never stored as such. */
const REFRESH_TOKEN_BYTES = 32
const SEAL_IV_BYTES = 12
const SEAL_TAG_BYTES = 16

export function generateRefreshToken(): string {
  return randomBytes(REFRESH_TOKEN_BYTES).toString('base64url')
}

export function hashRefreshToken(token: string): Buffer {
  return createHash('sha256').update(token).digest()
}

/**
 * Seals the pair that replaced a spent token with a key derived from that token, so only
 * the holder of the spent token can read it back during the grace window: the database
 * never holds a usable token in the clear.
 */
export function sealSuccessor(spentToken: string, value: unknown): Buffer {
  const iv = randomBytes(SEAL_IV_BYTES)
  const cipher = createCipheriv('aes-256-gcm', successorKey(spentToken), iv)
  const body = Buffer.concat([cipher.update(JSON.stringify(value)), cipher.final()])
  return Buffer.concat([iv, cipher.getAuthTag(), body])
}

export function openSuccessor<T>(spentToken: string, sealed: Buffer): T | null {
  try {
    const iv = sealed.subarray(0, SEAL_IV_BYTES)
    const tag = sealed.subarray(SEAL_IV_BYTES, SEAL_IV_BYTES + SEAL_TAG_BYTES)
    // Without a fixed tag length, Node's GCM would also accept a truncated (weaker) tag.
    const decipher = createDecipheriv('aes-256-gcm', successorKey(spentToken), iv, { authTagLength: SEAL_TAG_BYTES })
    decipher.setAuthTag(tag)
    const text = Buffer.concat([decipher.update(sealed.subarray(SEAL_IV_BYTES + SEAL_TAG_BYTES)), decipher.final()])
    return JSON.parse(text.toString()) as T
  } catch {
    return null
  }
}

function successorKey(spentToken: string): Buffer {
  return Buffer.from(hkdfSync('sha256', spentToken, '', 'refresh-token-successor', 32))
}
