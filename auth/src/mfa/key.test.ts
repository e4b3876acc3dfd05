import { describe, expect, test } from 'bun:test'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deriveSecretKey } from './totp'

/** Runs resolveSealingKeys in a process of its own (it may exit) and answers its exit code, output and the TOTP key. */
async function resolveIn(env: Record<string, string>) {
  const script = `import { resolveSealingKeys } from ${JSON.stringify(join(import.meta.dir, 'key.ts'))}
const keys = resolveSealingKeys({ NODE_ENV: process.env.NODE_ENV, MFA_ENCRYPTION_KEY: process.env.MFA_ENCRYPTION_KEY || undefined })
if (keys.mailTokenKey.equals(keys.mfaKey)) throw new Error('one key for two purposes')
console.log(keys.mfaKey.toString('hex'))`
  const child = Bun.spawn(['bun', '-e', script], { env: { PATH: process.env.PATH ?? '', ...env }, stdout: 'pipe', stderr: 'pipe' })
  const [code, stdout, stderr] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()])
  return { code, key: stdout.trim(), stderr: stderr.trim() }
}

describe('resolveSealingKeys', () => {
  test('production without MFA_ENCRYPTION_KEY stops with one clear line', async () => {
    const result = await resolveIn({ NODE_ENV: 'production' })
    expect(result.code).toBe(1)
    expect(result.stderr).toBe('config: MFA_ENCRYPTION_KEY is required in production (at least 32 characters)')
  })

  test('a set MFA_ENCRYPTION_KEY gives the same AES key every time, in any mode', async () => {
    const setting = 'a production key of at least thirty-two characters'
    const result = await resolveIn({ NODE_ENV: 'production', MFA_ENCRYPTION_KEY: setting })
    expect(result.code).toBe(0)
    expect(result.key).toBe(deriveSecretKey(setting).toString('hex'))
  })

  test('development generates a key into the data folder once and keeps using it', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'mfa-key-'))
    try {
      const first = await resolveIn({ NODE_ENV: 'development', DATA_DIR: dataDir })
      const second = await resolveIn({ NODE_ENV: 'development', DATA_DIR: dataDir })
      expect(first.code).toBe(0)
      expect(second.key).toBe(first.key)
      const stored = await readFile(join(dataDir, 'secrets', 'mfa-encryption-key'), 'utf8')
      expect(first.key).toBe(deriveSecretKey(stored).toString('hex'))
    } finally {
      await rm(dataDir, { recursive: true, force: true })
    }
  })
})
