import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

/** Git-ignored folder for development-only state: generated keys and secrets, embedded Postgres. */
export const DATA_DIR = resolve(process.env.DATA_DIR ?? join(import.meta.dir, '..', '..', '.data'))

/**
 * Reads a development secret, creating it on first use. Creation uses the exclusive `wx`
 * flag so instances starting at the same moment all end up with the first writer's value.
 * Production never reaches this: its secrets come from the environment.
 */
export function readOrCreateDevSecret(name: string, generate: () => string): string {
  const dir = join(DATA_DIR, 'secrets')
  const file = join(dir, name)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  try {
    writeFileSync(file, generate(), { flag: 'wx', mode: 0o600 })
  } catch (error) {
    if ((error as { code?: string }).code !== 'EEXIST') throw error
  }
  return readFileSync(file, 'utf8')
}

export function randomToken(bytes = 32): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('base64url')
}

/** The shared secret of internal routes: from the environment, or a generated dev value. */
export function resolveInternalToken(config: { NODE_ENV: string; INTERNAL_TOKEN?: string }): string {
  if (config.INTERNAL_TOKEN) return config.INTERNAL_TOKEN
  if (config.NODE_ENV === 'production') {
    console.error('config: INTERNAL_TOKEN is required in production (at least 32 characters)')
    process.exit(1)
  }
  return readOrCreateDevSecret('internal-token', () => randomToken(32))
}
