/** A bench's settings from the environment: a bad value stops the run with one line, before anything starts. */

export function positiveInt(name: string, fallback: number, options: { allowZero?: boolean } = {}): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < (options.allowZero ? 0 : 1)) {
    console.error(`bench: ${name} must be a ${options.allowZero ? 'non-negative' : 'positive'} integer (got ${JSON.stringify(raw)})`)
    process.exit(1)
  }
  return value
}

/** BENCH_ROWS (comma-separated row ids); null when unset, meaning every row. */
const ONLY_ROWS: string[] | null = process.env.BENCH_ROWS?.split(',').map((id) => id.trim()).filter(Boolean) ?? null

export const wantedRow = (id: string) => ONLY_ROWS === null || ONLY_ROWS.includes(id)

export const SECONDS = positiveInt('BENCH_SECONDS', 10)
export const WARMUP_SECONDS = positiveInt('BENCH_WARMUP_SECONDS', 2, { allowZero: true })

/** Shared by the load benches (chat, scale). Flat-out senders go far above the default token bucket, which would refuse them. */
export const UNLIMITED_SENDS = '1000000'
/** Registration and logins hash with argon2id; a few at a time keep both cores busy. */
export const PREPARE_CONCURRENCY = 4
export const CONNECT_CONCURRENCY = 10
/** Presence announcements of the joins finish before the first send. */
export const SETTLE_MS = 500
/** After the last send: acks and deliveries still on their way get this long, polled this often. */
export const DRAIN_TIMEOUT_MS = 20_000
export const DRAIN_POLL_MS = 50
