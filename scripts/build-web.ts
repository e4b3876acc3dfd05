import { copyFile, mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'

/**
 * Builds the web client Caddy serves at `/`: `web/src/app.ts` bundled for browsers
 * (with `@chat/client`, minified) into `app.js` and its source map `app.js.map`, beside
 * `index.html` and `styles.css`.
 *
 *   bun scripts/build-web.ts [outDir]      (default web/dist)
 *
 * Only these four files are (over)written and nothing is removed: the folder is shared
 * with the /docs pages.
 */

const REPO_ROOT = resolve(import.meta.dir, '..')
const SOURCE_DIR = join(REPO_ROOT, 'web', 'src')
const ENTRY = join(SOURCE_DIR, 'app.ts')
const STATIC_FILES = ['index.html', 'styles.css']

export async function buildWeb(outDir = 'web/dist'): Promise<void> {
  const out = resolve(REPO_ROOT, outDir)
  await mkdir(out, { recursive: true })
  const result = await Bun.build({
    entrypoints: [ENTRY],
    outdir: out,
    naming: 'app.js',
    target: 'browser',
    format: 'esm',
    minify: true,
    sourcemap: 'linked',
  })
  if (!result.success) throw new Error(`The web client did not build:\n${result.logs.map(String).join('\n')}`)
  await Promise.all(STATIC_FILES.map((name) => copyFile(join(SOURCE_DIR, name), join(out, name))))
}

if (import.meta.main) {
  const outDir = process.argv[2]
  await buildWeb(outDir)
  console.log(`web client built into ${resolve(REPO_ROOT, outDir ?? 'web/dist')}`)
}
