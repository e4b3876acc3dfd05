/**
 * Whether the message store should try the database now. After a failed batch it refuses
 * for `backoffMs`, so queued and new sends are answered at once instead of each waiting
 * for its own timeout; then it lets one probe batch through, and while that probe is out
 * it refuses the rest. A success opens it again. Time is passed in so it is testable
 * without clocks.
 */
export function createFailureGate(backoffMs: number) {
  let failedAt: number | null = null
  let probing = false
  return {
    /** True when a send may be queued; the first one after the back-off becomes the probe. */
    admits(now = performance.now()): boolean {
      if (failedAt === null) return true
      if (probing || now - failedAt < backoffMs) return false
      probing = true
      return true
    },
    succeeded() {
      failedAt = null
      probing = false
    },
    failed(now = performance.now()) {
      failedAt = now
      probing = false
    },
  }
}
export type FailureGate = ReturnType<typeof createFailureGate>
