import { readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * Removes the temporary folders named `<prefix>…` last changed more than `maxAgeMs` ago: a
 * killed run cannot clean up after itself, so a later run does, once the folder is surely unused.
 */
export async function removeStaleWorkDirs(prefix: string, maxAgeMs: number): Promise<void> {
  const cutoff = Date.now() - maxAgeMs
  for (const name of await readdir(tmpdir())) {
    if (!name.startsWith(prefix)) continue
    const path = join(tmpdir(), name)
    const { mtimeMs } = await stat(path).catch(() => ({ mtimeMs: Infinity }))
    if (mtimeMs < cutoff) await rm(path, { recursive: true, force: true }).catch(() => {})
  }
}
