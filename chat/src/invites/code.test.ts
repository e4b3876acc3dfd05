import { describe, expect, test } from 'bun:test'
import { generateInviteCode, hashInviteCode } from './code'

describe('invite codes', () => {
  test('are 22 URL-safe characters and never repeat', () => {
    const codes = new Set(Array.from({ length: 1000 }, generateInviteCode))
    expect(codes.size).toBe(1000)
    for (const code of codes) expect(code).toMatch(/^[A-Za-z0-9_-]{22}$/)
  })

  test('are stored as their SHA-256, which is the same for the same code only', () => {
    const code = generateInviteCode()
    expect(hashInviteCode(code).toString('hex')).toBe(new Bun.CryptoHasher('sha256').update(code).digest('hex'))
    expect(hashInviteCode(code).equals(hashInviteCode(generateInviteCode()))).toBe(false)
  })
})
