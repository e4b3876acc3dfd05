import { createHash, randomBytes } from 'node:crypto'

/** 128 random bits: guessing one is hopeless even without the accept rate limit. */
const CODE_BYTES = 16

export function generateInviteCode(): string {
  return randomBytes(CODE_BYTES).toString('base64url')
}

/** What is stored and looked up: a leaked table holds no usable code. */
export function hashInviteCode(code: string): Buffer {
  return createHash('sha256').update(code).digest()
}
