/**
 * Writes the dev overlay's secrets into secrets/ beside this file (git-ignored), once: a
 * file that exists is kept, so re-running changes nothing and a running cluster's
 * sessions stay valid. Production creates its Secrets itself (README, "Deploy on Kubernetes").
 *   bun deploy/kubernetes/overlays/dev/make-secrets.ts [folder]
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const folder = process.argv[2] ?? join(import.meta.dir, 'secrets')

/** Creates `name` unless it exists (`wx`), and answers what the file holds. */
function writeOnce(name: string, generate: () => string): string {
  const file = join(folder, name)
  try {
    writeFileSync(file, generate(), { flag: 'wx', mode: 0o600 })
  } catch (error) {
    if ((error as { code?: string }).code !== 'EEXIST') throw error
  }
  return readFileSync(file, 'utf8')
}

// URL-safe: the password becomes part of DATABASE_URL.
const randomSecret = (bytes: number) => randomBytes(bytes).toString('base64url')

mkdirSync(folder, { recursive: true, mode: 0o700 })
writeOnce('internal-token', () => randomSecret(48))
writeOnce('mfa-encryption-key', () => randomSecret(48))
writeOnce('jwt-private-key.pem', () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString())
const password = writeOnce('postgres-password', () => randomSecret(24))
// The overlay's own stores (stores.yaml), by Service name.
writeOnce('database-url', () => `postgres://chat:${password}@postgres:5432/chat`)
writeOnce('redis-url', () => 'redis://redis:6379')
// The overlay's mail catcher (stores.yaml): its web UI shows every mail the services send.
writeOnce('smtp-url', () => 'smtp://mailpit:1025')
console.log(`secrets in ${folder}`)
