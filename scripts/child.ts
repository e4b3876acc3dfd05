import { closeSync, openSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Subprocess } from 'bun'

/** Lines of a child's output kept for error messages. */
const TAIL_LINES = 50
/** How long a child gets to finish after SIGTERM before it is killed. */
const STOP_GRACE_MS = 5000

export type Output =
  /** Each line goes to our stdout, prefixed with the child's name (development), rewritten by `format` if given. */
  | { kind: 'prefix'; filter?: (line: string) => boolean; format?: (line: string) => string }
  /** The child writes straight into `<dir>/<name>.log` (tests): nothing passes through this process. */
  | { kind: 'files'; dir: string }

export type Child = {
  name: string
  proc: Subprocess
  logFile: string | null
  /** The last lines the child printed, oldest first. */
  tail(): string[]
  /** Sends `signal`, escalates to SIGKILL after `graceMs`, resolves with the exit code once it is gone. */
  stop(signal?: 'SIGTERM' | 'SIGKILL' | 'SIGINT', graceMs?: number): Promise<number | null>
}

const live = new Set<Subprocess>()
let cleanupInstalled = false
/** Stops our children if we die without doing it ourselves (see scripts/reaper.ts). */
let reaper: Subprocess<'pipe', 'ignore', 'inherit'> | null = null

/** Starts `cmd` with exactly `env` (nothing inherited), tracked so it never outlives us. */
export function spawnChild(options: { name: string; cmd: string[]; cwd: string; env: Record<string, string>; output: Output }): Child {
  installCleanup()
  const { name, output } = options
  const logFile = output.kind === 'files' ? join(output.dir, `${name}.log`) : null
  const fd = logFile === null ? null : openSync(logFile, 'a')
  let proc: Subprocess
  try {
    proc = Bun.spawn({
      cmd: options.cmd,
      cwd: options.cwd,
      env: options.env,
      stdin: 'ignore',
      stdout: fd ?? 'pipe',
      stderr: fd ?? 'pipe',
    })
  } finally {
    if (fd !== null) closeSync(fd)
  }
  live.add(proc)
  tellReaper(`+${proc.pid}`)
  void proc.exited.then(() => {
    live.delete(proc)
    tellReaper(`-${proc.pid}`)
  })

  const memory: string[] = []
  if (output.kind === 'prefix') {
    const label = colour(name)
    const onLine = (line: string) => {
      memory.push(line)
      if (memory.length > TAIL_LINES) memory.shift()
      if (output.filter === undefined || output.filter(line)) process.stdout.write(`${label} ${output.format?.(line) ?? line}\n`)
    }
    void forEachLine(proc.stdout as ReadableStream<Uint8Array>, onLine)
    void forEachLine(proc.stderr as ReadableStream<Uint8Array>, onLine)
  }

  return {
    name,
    proc,
    logFile,
    tail: () => (logFile === null ? [...memory] : readTail(logFile)),
    stop: (signal = 'SIGTERM', graceMs = STOP_GRACE_MS) => stopProcess(proc, signal, graceMs),
  }
}

export function isRunning(proc: Subprocess): boolean {
  return proc.exitCode === null && proc.signalCode === null
}

async function stopProcess(proc: Subprocess, signal: 'SIGTERM' | 'SIGKILL' | 'SIGINT', graceMs: number): Promise<number | null> {
  if (isRunning(proc)) proc.kill(signal)
  const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs)
  try {
    return await proc.exited
  } finally {
    clearTimeout(timer)
  }
}

/** Started with the first child; it holds no reference that would keep this process alive. */
function tellReaper(line: string) {
  if (reaper === null) {
    reaper = Bun.spawn({
      cmd: [process.execPath, join(import.meta.dir, 'reaper.ts')],
      stdin: 'pipe',
      stdout: 'ignore',
      stderr: 'inherit',
    })
    reaper.unref()
  }
  reaper.stdin.write(`${line}\n`)
  void reaper.stdin.flush()
}

/**
 * If this process ends without stopping its children (an exception, process.exit,
 * a test runner giving up), they die with it instead of holding ports as orphans.
 * `exit` handlers may not wait, hence SIGKILL.
 */
function installCleanup() {
  if (cleanupInstalled) return
  cleanupInstalled = true
  process.on('exit', () => {
    for (const proc of live) proc.kill('SIGKILL')
  })
}

/**
 * For scripts without their own signal handling (tests): SIGINT/SIGTERM/SIGHUP stop the
 * children (SIGTERM, SIGKILL after the grace period) and exit with the conventional 128+n
 * code. Exiting right after SIGTERM would let the exit hook SIGKILL them before they could
 * shut down. A second signal exits at once. Scripts that shut down gracefully (dev.ts)
 * install their own handlers instead.
 */
export function exitOnSignals() {
  let stopping = false
  for (const [signal, number] of [
    ['SIGINT', 2],
    ['SIGTERM', 15],
    ['SIGHUP', 1],
  ] as const) {
    if (process.listenerCount(signal) > 0) continue
    process.on(signal, () => {
      if (stopping) process.exit(128 + number)
      stopping = true
      void Promise.all([...live].map((proc) => stopProcess(proc, 'SIGTERM', STOP_GRACE_MS))).then(() => process.exit(128 + number))
    })
  }
}

async function forEachLine(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
  const decoder = new TextDecoder()
  let pending = ''
  for await (const chunk of stream) {
    pending += decoder.decode(chunk, { stream: true })
    const lines = pending.split('\n')
    pending = lines.pop()!
    for (const line of lines) onLine(line)
  }
  if (pending !== '') onLine(pending)
}

function readTail(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-TAIL_LINES)
  } catch {
    return []
  }
}

const COLOURS = [36, 33, 35, 32, 34, 91, 96, 93]
const colourOf = new Map<string, number>()

/** A stable colour per service name when stdout is a terminal, so interleaved lines stay readable. */
function colour(name: string): string {
  const label = `[${name}]`
  if (!process.stdout.isTTY) return label
  const family = name.replace(/-\d+$/, '')
  if (!colourOf.has(family)) colourOf.set(family, COLOURS[colourOf.size % COLOURS.length])
  return `\x1b[${colourOf.get(family)}m${label}\x1b[0m`
}
