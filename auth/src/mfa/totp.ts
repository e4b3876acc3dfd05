import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto'
import { Secret, TOTP } from 'otpauth'

/** RFC 6238 as every authenticator app reads it by default: SHA-1, 6 digits, 30-second steps. */
export const TOTP_PERIOD_SECONDS = 30
const TOTP_DIGITS = 6
const TOTP_ALGORITHM = 'SHA1'
/** RFC 4226 asks for at least 128 bits and recommends 160. */
const SECRET_BYTES = 20
/** One step either side of now: a code typed as it rolled over, or a clock a little off. */
const VALIDATION_WINDOW = 1

const SEAL_VERSION = 1
const SEAL_IV_BYTES = 12
const SEAL_TAG_BYTES = 16

/** A new TOTP secret, base32 as apps and `otpauth://` URLs take it. */
export function generateTotpSecret(): string {
  return new Secret({ size: SECRET_BYTES }).base32
}

export function otpauthUrl(secret: string, issuer: string, accountName: string): string {
  return totpOf(secret, issuer, accountName).toString()
}

/** The code of `secret` at `timestampMs`; for tests, and what an authenticator app shows. */
export function totpCode(secret: string, timestampMs = Date.now()): string {
  return totpOf(secret).generate({ timestamp: timestampMs })
}

/**
 * The time step whose code `code` is, within one step of `timestampMs`, or null. The caller
 * refuses a step not above the last one used, which makes every code single-use.
 */
export function matchTotpStep(secret: string, code: string, timestampMs = Date.now()): number | null {
  const delta = totpOf(secret).validate({ token: code, timestamp: timestampMs, window: VALIDATION_WINDOW })
  if (delta === null) return null
  return Math.floor(timestampMs / 1000 / TOTP_PERIOD_SECONDS) + delta
}

function totpOf(secret: string, issuer = '', label = 'account'): TOTP {
  return new TOTP({
    issuer,
    label,
    algorithm: TOTP_ALGORITHM,
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
    secret: Secret.fromBase32(secret),
  })
}

/** An AES-256 key derived from the MFA_ENCRYPTION_KEY setting, one per purpose (`info`): by default the one sealing TOTP secrets. */
export function deriveSecretKey(setting: string, info = 'totp-secret-at-rest'): Buffer {
  return Buffer.from(hkdfSync('sha256', setting, '', info, 32))
}

/**
 * Seals a TOTP secret for storage: version byte, IV, GCM tag, ciphertext. The user id is
 * authenticated data, so a sealed secret copied onto another user's row does not open.
 */
export function sealSecret(key: Buffer, userId: string, secret: string): Buffer {
  const iv = randomBytes(SEAL_IV_BYTES)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(userId))
  const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()])
  return Buffer.concat([Buffer.from([SEAL_VERSION]), iv, cipher.getAuthTag(), body])
}

/** The secret, or null when the bytes were not sealed with this key for this user. */
export function openSecret(key: Buffer, userId: string, sealed: Buffer): string | null {
  try {
    if (sealed[0] !== SEAL_VERSION) return null
    const iv = sealed.subarray(1, 1 + SEAL_IV_BYTES)
    const tag = sealed.subarray(1 + SEAL_IV_BYTES, 1 + SEAL_IV_BYTES + SEAL_TAG_BYTES)
    // Without a fixed tag length, Node's GCM would also accept a truncated (weaker) tag.
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: SEAL_TAG_BYTES })
    decipher.setAAD(Buffer.from(userId))
    decipher.setAuthTag(tag)
    return Buffer.concat([decipher.update(sealed.subarray(1 + SEAL_IV_BYTES + SEAL_TAG_BYTES)), decipher.final()]).toString('utf8')
  } catch {
    return null
  }
}

export const RECOVERY_CODE_COUNT = 10
/** Base32 without padding: no 0/1/8/9 to confuse with O/I/B/g when copied by hand. */
const RECOVERY_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567'
const RECOVERY_HALF = 5

/** Ten codes of 10 base32 characters (50 random bits), written `xxxxx-xxxxx`. */
export function generateRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const chars = Array.from(randomBytes(RECOVERY_HALF * 2), (byte) => RECOVERY_ALPHABET[byte & 31]).join('')
    return `${chars.slice(0, RECOVERY_HALF)}-${chars.slice(RECOVERY_HALF)}`
  })
}

/** What a code form accepts: six digits (TOTP), or a recovery code in any case, with or without its dash. */
export const TOTP_CODE_PATTERN = '^[0-9]{6}$'
export const ANY_CODE_PATTERN = '^(?:[0-9]{6}|[A-Za-z2-7]{5}-?[A-Za-z2-7]{5})$'

export function isTotpCode(code: string): boolean {
  return /^[0-9]{6}$/.test(code)
}

/**
 * The stored form of a recovery code: an HMAC-SHA256 under the two-factor key, of the user
 * and the code without case or dash. A plain hash of 50 random bits would fall to one
 * offline sweep of 2^50 over a copied table, every user's codes at once; keyed and salted
 * by user, a copy of the database alone gives nothing to sweep.
 */
export function hashRecoveryCode(key: Buffer, userId: string, code: string): Buffer {
  return createHmac('sha256', key).update(`${userId.toLowerCase()}:${normalizeRecoveryCode(code)}`).digest()
}

/** How codes were stored before they were keyed (plain SHA-256): still accepted, so no code handed out is lost. */
export function legacyRecoveryCodeHash(code: string): Buffer {
  return createHash('sha256').update(normalizeRecoveryCode(code)).digest()
}

const normalizeRecoveryCode = (code: string) => code.toLowerCase().replace('-', '')
