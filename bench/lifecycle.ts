/**
 * How a bench runs: a throwaway work folder, everything it starts stopped in reverse order
 * on success, failure or a signal, and one exit code.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnChild, type Child } from '../scripts/child'
import { answersOk, waitFor } from '../scripts/net'
import { REPO_ROOT } from '../scripts/stack'

const WORK_DIR_PREFIX = 'chat-bench-'
const SIGNALS = [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]] as const

const stoppers: Array<() => Promise<unknown>> = []
let dir: string | null = null
let cleaning: Promise<void> | null = null

/** The run's throwaway folder (logs, generated files); removed at the end. */
export function workDir(): string {
  if (dir === null) throw new Error('bench: workDir() before runBench() created it')
  return dir
}

/** `stop` runs at the end of the run, before what was registered earlier. */
export function atCleanUp(stop: () => Promise<unknown>): void {
  stoppers.push(stop)
}

function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const stop of stoppers.reverse()) await stop().catch((error) => console.error('bench: clean-up step failed:', error))
    if (dir !== null) await rm(dir, { recursive: true, force: true })
  })()
  return cleaning
}

/**
 * Runs `main` in a fresh work folder, cleans up whatever happened, and exits: 0 on
 * success, 1 on failure, 128 + the signal's number on a signal.
 */
export async function runBench(main: () => Promise<void>): Promise<never> {
  // Installed before the harness starts anything, so its own handlers (which exit without
  // dropping the database) stay out of the way.
  for (const [signal, number] of SIGNALS) {
    process.once(signal, () => {
      console.error(`\nbench: ${signal}, stopping everything`)
      void cleanUp().finally(() => process.exit(128 + number))
    })
  }
  let exitCode = 0
  try {
    dir = await mkdtemp(join(tmpdir(), WORK_DIR_PREFIX))
    await main()
  } catch (error) {
    console.error('bench: failed:', error instanceof Error ? error.message : error)
    exitCode = 1
  } finally {
    await cleanUp()
  }
  process.exit(exitCode)
}

/** Starts a process that logs into the work folder, stopped at clean-up, once `readyUrl` answers 2xx. */
export async function startChild(options: { name: string; cmd: string[]; env: Record<string, string>; readyUrl: string; readyTimeoutMs: number }): Promise<Child> {
  const { name, readyUrl } = options
  const child = spawnChild({ name, cmd: options.cmd, cwd: REPO_ROOT, env: options.env, output: { kind: 'files', dir: workDir() } })
  atCleanUp(() => child.stop())
  if (!(await waitFor(() => answersOk(readyUrl), { timeoutMs: options.readyTimeoutMs, stop: child.proc.exited }))) {
    throw new Error(`${name} did not answer ${readyUrl}\n${child.tail().join('\n')}`)
  }
  return child
}

/** `work` on every item, `size` at a time (argon2id hashing and socket opening want a few at once, not all). */
export async function inChunks<T, R>(items: T[], size: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = []
  for (let i = 0; i < items.length; i += size) results.push(...(await Promise.all(items.slice(i, i + size).map(work))))
  return results
}
