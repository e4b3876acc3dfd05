import { readFileSync } from 'node:fs'
import { spawnChild } from '../scripts/child'

export type WrkOptions = {
  url: string
  threads: number
  connections: number
  seconds: number
  /** Path of a wrk Lua script (headers, bodies, rotation). */
  script?: string
  /** Requests slower than this count as timeouts. */
  timeoutSeconds?: number
  /** wrk's output is written to `<logDir>/wrk-<label>.log` and kept, for reading after a surprise. */
  logDir: string
  label: string
}

export type WrkResult = {
  requests: number
  requestsPerSecond: number
  p50Ms: number
  p99Ms: number
  /** wrk's "Non-2xx or 3xx responses" (it counts statuses ≥ 400). */
  non2xx: number
  /** Connect, read, write and timeout errors together. */
  socketErrors: number
  /** CPU time wrk itself used (it shares the machine with what it measures). */
  cpuSeconds: number
  raw: string
}

const WRK_BINARY = process.env.WRK ?? 'wrk'
/** wrk's own default: a request slower than this counts as a timeout error. */
const DEFAULT_TIMEOUT_SECONDS = 2
/** wrk itself ends after `seconds`; this is the backstop if it hangs. */
const WRK_GRACE_MS = 15_000

export async function runWrk(options: WrkOptions): Promise<WrkResult> {
  const cmd = [
    WRK_BINARY,
    `-t${options.threads}`,
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    `--timeout`,
    `${options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS}s`,
    '--latency',
    ...(options.script === undefined ? [] : ['-s', options.script]),
    options.url,
  ]
  const child = spawnChild({
    name: `wrk-${options.label}`,
    cmd,
    cwd: import.meta.dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    output: { kind: 'files', dir: options.logDir },
  })
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), options.seconds * 1000 + WRK_GRACE_MS)
  const code = await child.proc.exited.finally(() => clearTimeout(timer))
  const raw = readFileSync(child.logFile!, 'utf8')
  if (code !== 0) throw new Error(`wrk exited with ${code}: ${cmd.join(' ')}\n${raw}`)
  // wrk reports a broken script and then runs anyway, with its default request.
  if (options.script !== undefined && raw.includes(options.script + ':')) throw new Error(`wrk script error in ${options.script}:\n${raw}`)
  const cpuSeconds = Number(child.proc.resourceUsage()?.cpuTime.total ?? 0n) / 1e6
  return { ...parseWrkOutput(raw), cpuSeconds }
}

const TIME_UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** "523.00us", "1.23ms", "1.02s" → milliseconds. */
function parseDuration(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim())
  if (match === null) throw new Error(`wrk: unknown duration ${JSON.stringify(text)}`)
  return Number(match[1]) * TIME_UNIT_MS[match[2]]
}

/** Reads the summary wrk prints with `--latency`. */
function parseWrkOutput(raw: string): Omit<WrkResult, 'cpuSeconds'> {
  const number = (pattern: RegExp, fallback?: number) => {
    const match = pattern.exec(raw)
    if (match === null) {
      if (fallback !== undefined) return fallback
      throw new Error(`wrk output has no ${pattern}:\n${raw}`)
    }
    return Number(match[1])
  }
  const percentile = (p: number) => {
    const match = new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(raw)
    if (match === null) throw new Error(`wrk output has no ${p}% latency (was --latency given?):\n${raw}`)
    return parseDuration(match[1])
  }
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(raw)
  return {
    requests: number(/(\d+) requests in /),
    requestsPerSecond: number(/Requests\/sec:\s+([\d.]+)/),
    p50Ms: percentile(50),
    p99Ms: percentile(99),
    non2xx: number(/Non-2xx or 3xx responses: (\d+)/, 0),
    socketErrors: socket === null ? 0 : socket.slice(1).reduce((sum, n) => sum + Number(n), 0),
    raw,
  }
}
