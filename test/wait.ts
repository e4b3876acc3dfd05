/** Polled this often: short against any step a test waits for, long enough not to busy the machine. */
const POLL_MS = 20
const DEFAULT_TIMEOUT_MS = 10_000

/** Waits until `check` holds (sync, or async such as a look at a browser page), failing with `what` after `timeoutMs`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`)
    await Bun.sleep(POLL_MS)
  }
}
