import { describe, expect, test } from 'bun:test'
import { readFile } from 'node:fs/promises'
import { GENERATED, renderTypes } from '../../scripts/build-client'

/** Printing Eden's route types runs the TypeScript compiler over the three services. */
const RENDER_TIMEOUT_MS = 120_000

describe('the package’s generated types', () => {
  test(
    'are what `bun run build:client --types` prints from the protocol and the services’ current routes',
    async () => {
      // On failure: run `bun run build:client --types` and commit client/src/generated-types.ts.
      expect(await readFile(GENERATED, 'utf8')).toBe(renderTypes())
    },
    RENDER_TIMEOUT_MS,
  )
})
