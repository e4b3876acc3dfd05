/**
 * `bun run fuzz`: the fuzzer of test/fuzz.test.ts for longer than the test suite gives it.
 *
 *   FUZZ_SECONDS  time budget of the generated requests and frames (default 300; the suite uses 16)
 *   FUZZ_RUNS     at most this many generated cases per property (default: no limit but time)
 *   FUZZ_SEED     replays a run: the seed is printed at the start and in the figures
 *
 * It prints the figures at the end (requests and frames sent, 5xx, stalls, crashes) and
 * exits non-zero when a property failed.
 */

const DEFAULT_SECONDS = 300
/** Starting and stopping the stack, and the explicit properties after the timed ones. */
const OVERHEAD_MS = 180_000

const seconds = process.env.FUZZ_SECONDS ?? String(DEFAULT_SECONDS)
const child = Bun.spawn(['bun', 'test', '--timeout', String(Number(seconds) * 1000 + OVERHEAD_MS), 'test/fuzz.test.ts'], {
  cwd: `${import.meta.dir}/..`,
  env: { ...process.env, FUZZ_SECONDS: seconds },
  stdio: ['inherit', 'inherit', 'inherit'],
})
process.exit(await child.exited)
