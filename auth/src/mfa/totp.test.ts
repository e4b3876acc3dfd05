import { describe, expect, test } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { TOTP } from 'otpauth'
import {
  ANY_CODE_PATTERN,
  deriveSecretKey,
  generateRecoveryCodes,
  generateTotpSecret,
  hashRecoveryCode,
  legacyRecoveryCodeHash,
  matchTotpStep,
  openSecret,
  otpauthUrl,
  sealSecret,
  TOTP_PERIOD_SECONDS,
  totpCode,
} from './totp'

const KEY = deriveSecretKey('a development key of at least thirty-two characters')
const USER = crypto.randomUUID()
const STEP_MS = TOTP_PERIOD_SECONDS * 1000
/** The middle of step 1,000,000, so a step either side is a whole step away. */
const NOW = 1_000_000 * STEP_MS + STEP_MS / 2

describe('TOTP codes', () => {
  test('match the RFC 6238 SHA-1 test vector at T = 59 s', () => {
    // RFC 6238 appendix B: the ASCII seed "12345678901234567890", 8 digits → 94287082; its last 6 digits are the 6-digit code.
    const secret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'
    expect(totpCode(secret, 59_000)).toBe('287082')
    expect(matchTotpStep(secret, '287082', 59_000)).toBe(1)
  })

  test('a code is accepted one step either side of now and answers the step it belongs to', () => {
    const secret = generateTotpSecret()
    expect(matchTotpStep(secret, totpCode(secret, NOW), NOW)).toBe(1_000_000)
    expect(matchTotpStep(secret, totpCode(secret, NOW - STEP_MS), NOW)).toBe(999_999)
    expect(matchTotpStep(secret, totpCode(secret, NOW + STEP_MS), NOW)).toBe(1_000_001)
  })

  test('a code two steps away, or of another secret, is refused', () => {
    const secret = generateTotpSecret()
    expect(matchTotpStep(secret, totpCode(secret, NOW - 2 * STEP_MS), NOW)).toBeNull()
    expect(matchTotpStep(secret, totpCode(secret, NOW + 2 * STEP_MS), NOW)).toBeNull()
    const other = generateTotpSecret()
    const code = totpCode(other, NOW)
    // One in a million the other secret gives the same code: compare with what the right one gives.
    if (code !== totpCode(secret, NOW) && code !== totpCode(secret, NOW - STEP_MS) && code !== totpCode(secret, NOW + STEP_MS)) {
      expect(matchTotpStep(secret, code, NOW)).toBeNull()
    }
  })

  test('a secret has 160 bits, base32, and differs every time', () => {
    const secrets = Array.from({ length: 100 }, generateTotpSecret)
    for (const secret of secrets) expect(secret).toMatch(/^[A-Z2-7]{32}$/)
    expect(new Set(secrets).size).toBe(secrets.length)
  })

  test('the otpauth URL names issuer and account and parses back to the same generator', () => {
    const secret = generateTotpSecret()
    const url = otpauthUrl(secret, 'Chat', 'ada')
    expect(url).toStartWith('otpauth://totp/Chat:ada?')
    const parsed = new URL(url)
    expect(parsed.searchParams.get('secret')).toBe(secret)
    expect(parsed.searchParams.get('issuer')).toBe('Chat')
    expect(parsed.searchParams.get('algorithm')).toBe('SHA1')
    expect(parsed.searchParams.get('digits')).toBe('6')
    expect(parsed.searchParams.get('period')).toBe('30')
    const app = new TOTP({ secret, issuer: 'Chat', label: 'ada' })
    expect(app.generate({ timestamp: NOW })).toBe(totpCode(secret, NOW))
  })
})

describe('sealSecret / openSecret', () => {
  test('a sealed secret opens with the same key for the same user, and holds no clear text', () => {
    const secret = generateTotpSecret()
    const sealed = sealSecret(KEY, USER, secret)
    expect(sealed.includes(secret)).toBe(false)
    expect(openSecret(KEY, USER, sealed)).toBe(secret)
  })

  test('it does not open with another key, for another user, or with one bit flipped', () => {
    const sealed = sealSecret(KEY, USER, generateTotpSecret())
    expect(openSecret(deriveSecretKey('another key, also thirty-two characters long'), USER, sealed)).toBeNull()
    expect(openSecret(KEY, crypto.randomUUID(), sealed)).toBeNull()
    for (const at of [1, 13, sealed.length - 1]) {
      const flipped = Buffer.from(sealed)
      flipped[at] ^= 1
      expect(openSecret(KEY, USER, flipped)).toBeNull()
    }
  })

  test('truncated or empty input opens to null instead of throwing', () => {
    const sealed = sealSecret(KEY, USER, generateTotpSecret())
    expect(openSecret(KEY, USER, sealed.subarray(0, sealed.length - 1))).toBeNull()
    expect(openSecret(KEY, USER, sealed.subarray(0, 20))).toBeNull()
    expect(openSecret(KEY, USER, Buffer.alloc(0))).toBeNull()
  })
})

describe('recovery codes', () => {
  test('ten codes of the form xxxxx-xxxxx, all different, that the code pattern accepts', () => {
    const codes = generateRecoveryCodes()
    expect(codes).toHaveLength(10)
    expect(new Set(codes).size).toBe(10)
    for (const code of codes) {
      expect(code).toMatch(/^[a-z2-7]{5}-[a-z2-7]{5}$/)
      expect(new RegExp(ANY_CODE_PATTERN).test(code)).toBe(true)
    }
  })

  test('a code hashes the same whatever its case and with or without its dash, and differently per user and key', () => {
    const key = randomBytes(32)
    const user = crypto.randomUUID()
    const [code] = generateRecoveryCodes()
    const hash = hashRecoveryCode(key, user, code)
    expect(hashRecoveryCode(key, user, code.toUpperCase()).equals(hash)).toBe(true)
    expect(hashRecoveryCode(key, user, code.replace('-', '')).equals(hash)).toBe(true)
    expect(hashRecoveryCode(key, user, generateRecoveryCodes()[0]).equals(hash)).toBe(false)
    expect(hashRecoveryCode(key, crypto.randomUUID(), code).equals(hash)).toBe(false)
    expect(hashRecoveryCode(randomBytes(32), user, code).equals(hash)).toBe(false)
    // Not the plain SHA-256 a copied table could be swept for.
    expect(hash.equals(legacyRecoveryCodeHash(code))).toBe(false)
  })
})
