/** Polled this often by default: short against any step a test waits for, long enough not to busy the machine. */
const POLL_MS = 20
const DEFAULT_TIMEOUT_MS = 10_000

export type WaitOptions = {
  /** What is awaited, as the end of "timed out waiting until …". */
  message: string
  timeoutMs?: number
  intervalMs?: number
}

/**
 * The one way a test waits for something to happen: polls `check` (sync, or async such as a
 * request or a look at a browser page) until it holds, failing with the message after the
 * deadline. Assert the event, never a fixed sleep. `waitUntil(check, message, timeoutMs)` is
 * short for the options form.
 */
export async function waitUntil(check: () => boolean | Promise<boolean>, options: WaitOptions | string, timeoutMs?: number): Promise<void> {
  const { message, timeoutMs: limit = DEFAULT_TIMEOUT_MS, intervalMs = POLL_MS } = typeof options === 'string' ? { message: options, timeoutMs } : options
  const deadline = Date.now() + limit
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${limit} ms waiting until ${message}`)
    await Bun.sleep(intervalMs)
  }
}

/**
 * For what must NOT happen: checks `check` stays false for `forMs`, failing as soon as it holds.
 * The only place a test may watch the clock, because absence has no event to wait for.
 */
export async function expectNever(check: () => boolean | Promise<boolean>, options: { message: string; forMs: number; intervalMs?: number }): Promise<void> {
  const deadline = Date.now() + options.forMs
  while (Date.now() < deadline) {
    if (await check()) throw new Error(`${options.message} happened, and must not`)
    await Bun.sleep(options.intervalMs ?? POLL_MS)
  }
}
