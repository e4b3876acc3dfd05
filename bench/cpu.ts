import { readdirSync, readFileSync } from 'node:fs'

/**
 * Where the CPU goes during a run: each component's user+system time from /proc. CPU time
 * per request stays meaningful on a shared machine, where throughput depends on whatever
 * else is running. Processes that exit mid-run lose their last slice; the services and
 * Postgres' pooled backends live through a whole row, so that does not matter here.
 */
export type Component = { name: string; pids: () => number[] }

const CLOCK_TICKS_PER_SECOND = readClockTicks()

function readClockTicks(): number {
  const answer = Bun.spawnSync(['getconf', 'CLK_TCK']).stdout.toString().trim()
  const ticks = Number(answer)
  return Number.isInteger(ticks) && ticks > 0 ? ticks : 100
}

type ProcessStat = { comm: string; ppid: number; ticks: number }

/** A process's command name, parent, and utime + stime (all its threads, in ticks); null once it is gone. */
function readStat(pid: number): ProcessStat | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name is in parentheses and may hold spaces; fields are counted after it.
    const nameEnd = stat.lastIndexOf(')')
    const fields = stat.slice(nameEnd + 2).split(' ')
    return { comm: stat.slice(stat.indexOf('(') + 1, nameEnd), ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) }
  } catch {
    return null
  }
}

const processTicks = (pid: number) => readStat(pid)?.ticks ?? 0

/** User + system CPU seconds the processes have used so far (all threads); one gone counts 0. */
export function cpuSecondsOf(pids: number[]): number {
  return pids.reduce((ticks, pid) => ticks + processTicks(pid), 0) / CLOCK_TICKS_PER_SECOND
}

function allPids(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
}

/** Every process whose command name starts with `prefix`. */
export function pidsByCommand(prefix: string): number[] {
  return allPids().filter((pid) => readStat(pid)?.comm.startsWith(prefix) ?? false)
}

/**
 * Every process whose command line contains `text`. Postgres names each backend after its
 * database (`postgres: 15/main: user dbname 127.0.0.1(port) idle`), so this finds the
 * backends serving one database and not those of other clients of the same server.
 */
function pidsByCommandLine(text: string): number[] {
  return allPids().filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text)
    } catch {
      return false
    }
  })
}

/** The backends serving the database of `databaseUrl` (other clients share the server). */
export function databaseBackends(databaseUrl: string): () => number[] {
  const name = new URL(databaseUrl).pathname.slice(1)
  return () => pidsByCommandLine(` ${name} `)
}

/** Children of `parent` with this command name. */
export function childPids(parent: number, comm: string): number[] {
  return allPids().filter((pid) => {
    const info = readStat(pid)
    return info !== null && info.ppid === parent && info.comm === comm
  })
}

/** Busy ticks of the whole machine (every core), from the first line of /proc/stat. */
function machineTicks(): { busy: number } {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/)
  const [user, nice, system, , , irq, softirq, steal] = values.map(Number)
  return { busy: user + nice + system + irq + softirq + steal }
}

export type CpuUsage = {
  /** CPU seconds (user + system, all threads) each component used during the run and its drain. */
  seconds: Record<string, number>
  /** From the start of the run until the components were idle again. */
  wallSeconds: number
  /** CPU seconds the whole machine was busy (every core, every process, the kernel). */
  machineBusySeconds: number
}

const snapshot = (components: Component[]) =>
  new Map(components.map(({ name, pids }) => [name, new Map(pids().map((pid) => [pid, processTicks(pid)]))]))

/** CPU seconds each component used since `before`; processes started since count from zero. */
function usedSince(before: ReturnType<typeof snapshot>, components: Component[]): Record<string, number> {
  const seconds: Record<string, number> = {}
  for (const { name, pids } of components) {
    const start = before.get(name)!
    let ticks = 0
    for (const pid of new Set([...start.keys(), ...pids()])) ticks += Math.max(0, processTicks(pid) - (start.get(pid) ?? 0))
    seconds[name] = ticks / CLOCK_TICKS_PER_SECOND
  }
  return seconds
}

const sum = (seconds: Record<string, number>) => Object.values(seconds).reduce((a, b) => a + b, 0)

/** Below this share of one core the components count as idle (health checks, timers). */
const QUIET_CORES = 0.1
const QUIET_WINDOW_MS = 300
const QUIET_TIMEOUT_MS = 15_000

/**
 * Waits until the components are idle: requests still in flight when wrk stops (it does
 * not wait for them; with argon2id a backlog takes seconds) finish before the next row.
 */
export async function waitUntilQuiet(components: Component[]): Promise<void> {
  const deadline = Date.now() + QUIET_TIMEOUT_MS
  while (Date.now() < deadline) {
    const before = snapshot(components)
    await Bun.sleep(QUIET_WINDOW_MS)
    if (sum(usedSince(before, components)) < (QUIET_CORES * QUIET_WINDOW_MS) / 1000) return
  }
}

/**
 * CPU used from the start of `run` until the `awaited` components are idle again, so the
 * work for requests still in flight when `run` ends is counted too. `shared` components
 * (used by others as well) are measured over the same time but never waited for.
 */
export async function measureCpu<T>(awaited: Component[], shared: Component[], run: () => Promise<T>): Promise<{ result: T; cpu: CpuUsage }> {
  const components = [...awaited, ...shared]
  const before = snapshot(components)
  const machineBefore = machineTicks()
  const startedAt = performance.now()
  const result = await run()
  await waitUntilQuiet(awaited)
  const wallSeconds = (performance.now() - startedAt) / 1000
  const machineAfter = machineTicks()
  const seconds = usedSince(before, components)
  return { result, cpu: { seconds, wallSeconds, machineBusySeconds: (machineAfter.busy - machineBefore.busy) / CLOCK_TICKS_PER_SECOND } }
}

/** CPU seconds the machine spends busy per wall second, right now (e.g. other work on a shared box). */
export async function machineLoad(sampleMs: number): Promise<number> {
  const before = machineTicks()
  await Bun.sleep(sampleMs)
  const after = machineTicks()
  return (after.busy - before.busy) / CLOCK_TICKS_PER_SECOND / (sampleMs / 1000)
}
