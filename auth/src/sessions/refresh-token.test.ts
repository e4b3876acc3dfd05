import { describe, expect, test } from 'bun:test'
import { generateRefreshToken, hashRefreshToken, openSuccessor, sealSuccessor } from './refresh-token'

const PAIR = { accessToken: 'header.payload.signature', refreshToken: 'next-refresh-token', tokenType: 'Bearer', expiresIn: 900, sessionId: crypto.randomUUID() }

/** A copy of `sealed` with one bit flipped at `index` (negative counts from the end). */
function flipBit(sealed: Buffer, index: number): Buffer {
  const copy = Buffer.from(sealed)
  const at = index < 0 ? copy.length + index : index
  copy[at] ^= 0x01
  return copy
}

describe('sealSuccessor / openSuccessor', () => {
  test('the spent token opens what was sealed with it', () => {
    const spent = generateRefreshToken()
    expect(openSuccessor(spent, sealSuccessor(spent, PAIR))).toEqual(PAIR)
  })

  test('sealing the same value twice gives different bytes (a fresh IV each time)', () => {
    const spent = generateRefreshToken()
    const first = sealSuccessor(spent, PAIR)
    const second = sealSuccessor(spent, PAIR)
    expect(first.equals(second)).toBe(false)
    expect(openSuccessor(spent, second)).toEqual(PAIR)
  })

  test('the sealed bytes do not contain the successor in the clear', () => {
    const spent = generateRefreshToken()
    expect(sealSuccessor(spent, PAIR).includes(PAIR.refreshToken)).toBe(false)
  })

  test('another token cannot open it', () => {
    const sealed = sealSuccessor(generateRefreshToken(), PAIR)
    expect(openSuccessor(generateRefreshToken(), sealed)).toBeNull()
  })

  test('a token differing in one character cannot open it', () => {
    const spent = generateRefreshToken()
    const sealed = sealSuccessor(spent, PAIR)
    const lastChar = spent.at(-1) === 'A' ? 'B' : 'A'
    expect(openSuccessor(spent.slice(0, -1) + lastChar, sealed)).toBeNull()
  })

  test.each([
    ['the IV', 0],
    ['the authentication tag', 12],
    ['the ciphertext', -1],
  ])('a flipped bit in %s makes it unopenable', (_part, index) => {
    const spent = generateRefreshToken()
    expect(openSuccessor(spent, flipBit(sealSuccessor(spent, PAIR), index))).toBeNull()
  })

  test('truncated or empty input opens to null instead of throwing', () => {
    const spent = generateRefreshToken()
    const sealed = sealSuccessor(spent, PAIR)
    expect(openSuccessor(spent, sealed.subarray(0, sealed.length - 1))).toBeNull()
    expect(openSuccessor(spent, sealed.subarray(0, 20))).toBeNull()
    expect(openSuccessor(spent, Buffer.alloc(0))).toBeNull()
  })
})

describe('hashRefreshToken', () => {
  test('is the 32-byte SHA-256 of the token', () => {
    const token = generateRefreshToken()
    const hash = hashRefreshToken(token)
    expect(hash).toBeInstanceOf(Buffer)
    expect(hash.length).toBe(32)
    expect(hash.toString('hex')).toBe(new Bun.CryptoHasher('sha256').update(token).digest('hex'))
  })

  test('is deterministic, and different tokens hash differently', () => {
    const token = generateRefreshToken()
    expect(hashRefreshToken(token).equals(hashRefreshToken(token))).toBe(true)
    expect(hashRefreshToken(token).equals(hashRefreshToken(generateRefreshToken()))).toBe(false)
  })
})

describe('generateRefreshToken', () => {
  test('gives 256 random bits as URL-safe base64, never the same twice', () => {
    const tokens = Array.from({ length: 1000 }, generateRefreshToken)
    for (const token of tokens) expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(new Set(tokens).size).toBe(tokens.length)
  })
})
