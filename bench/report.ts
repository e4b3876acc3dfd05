/** What every bench prints: where it ran, Markdown tables, and the marks for disturbed rows. */
import { cpus, release } from 'node:os'
import { machineLoad, type CpuUsage } from './cpu'

/** How long the machine's load is sampled before the rows, to show what else is running. */
const BACKGROUND_SAMPLE_MS = 2000
/** A row during which other processes used more than this share of one core is marked as disturbed. */
const DISTURBED_REST_CORES = 0.25

export const ms = (value: number) => (Number.isNaN(value) ? '–' : value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : value.toFixed(0))
export const percent = (value: number) => `${(value * 100).toFixed(0)}%`

/** A Markdown table: the first column (the row's name) left-aligned, the numbers right-aligned. */
export function markdownTable(header: string[], rows: string[][]): string[] {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`
  return [line(header), `|${header.map((_, i) => (i === 0 ? '---' : '--:')).join('|')}|`, ...rows.map(line)]
}

/** The lines before the tables: machine, software, load and background, each a sentence. */
export function reportHeader(info: { software: string; load: string; background: string }): string[] {
  const machine = `${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), Linux ${release()}`
  return ['', `Machine: ${machine}`, `Software: ${info.software}`, `Load: ${info.load}`, `Background: ${info.background}`, '']
}

/** How busy the machine is before the rows, e.g. "7% of one core busy before the rows". */
export async function backgroundLoad(): Promise<string> {
  const cores = await machineLoad(BACKGROUND_SAMPLE_MS)
  return `${(cores * 100).toFixed(0)}% of one core busy before the rows`
}

/** Cores of machine CPU that none of `names` accounts for (other work, the kernel's loopback share). */
export function restCores(cpu: CpuUsage, seconds: Record<string, number>, names: readonly string[]): number {
  const accounted = names.reduce((sum, name) => sum + (seconds[name] ?? 0), 0)
  return Math.max(0, cpu.machineBusySeconds - accounted) / cpu.wallSeconds
}

export const busyCores = (cpu: CpuUsage) => cpu.machineBusySeconds / cpu.wallSeconds

export const disturbedMark = (rest: number) => (rest > DISTURBED_REST_CORES ? ' †' : '')

/** The footnote for rows carrying `disturbedMark`; `consequence` says what it does to the row's numbers. */
export const disturbedNote = (consequence: string) =>
  `† Other work used more than ${DISTURBED_REST_CORES * 100}% of a core during this row ("rest"): ${consequence}`

/** The first line a tool prints about its version (on stdout or stderr), or "unknown". */
export function versionOf(cmd: string[]): string {
  try {
    const result = Bun.spawnSync(cmd, { stderr: 'pipe' })
    return (result.stdout.toString() + result.stderr.toString()).trim().split('\n')[0]
  } catch {
    return 'unknown'
  }
}
