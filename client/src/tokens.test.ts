import { describe, expect, test } from 'bun:test'
import { toStoredTokens } from './tokens'

const pair = (expiresIn: number) => ({ accessToken: 'a', refreshToken: 'r', sessionId: 's', expiresIn })

describe('token renewal time', () => {
  test('a 15-minute token is renewed one minute before it expires, on the local clock', () => {
    const stored = toStoredTokens(pair(900), 1_000_000)
    expect(stored.expiresAt).toBe(1_000_000 + 900_000)
    expect(stored.renewAt).toBe(1_000_000 + 840_000)
  })

  test('a short-lived token is renewed after two thirds of its life', () => {
    const stored = toStoredTokens(pair(6), 0)
    expect(stored.expiresAt).toBe(6000)
    expect(stored.renewAt).toBe(4000)
  })
})
