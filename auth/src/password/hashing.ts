import type { AuthConfig } from '../config'

export type PasswordHasher = {
  hash(password: string): Promise<string>
  verify(password: string, hash: string): Promise<boolean>
  /** Spends the same time as a real check, so an unknown login is not told apart by timing. */
  verifyAgainstDummy(password: string): Promise<false>
}

export function createPasswordHasher(config: AuthConfig): PasswordHasher {
  const options = { algorithm: 'argon2id' as const, memoryCost: config.ARGON2_MEMORY_KIB, timeCost: config.ARGON2_TIME_COST }
  let dummyHash: Promise<string> | null = null
  return {
    hash: (password) => Bun.password.hash(password, options),
    verify: (password, hash) => Bun.password.verify(password, hash),
    async verifyAgainstDummy(password) {
      dummyHash ??= Bun.password.hash(crypto.randomUUID(), options)
      await Bun.password.verify(password, await dummyHash)
      return false
    },
  }
}
