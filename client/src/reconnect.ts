import { CLOSE } from '@chat/common/close-codes'

export { CLOSE }

/** Closes after which trying again cannot help: the client or the user has to act first. */
const FINAL_CLOSE_CODES: ReadonlySet<number> = new Set([CLOSE.FRAME_TOO_LARGE, CLOSE.BAD_FRAMES, CLOSE.UNAUTHENTICATED, CLOSE.REVOKED])

/** The first retry waits about this long… */
const BACKOFF_BASE_MS = 500
/** …doubling each time up to this, so a long outage costs the server one attempt per client every few seconds. */
const BACKOFF_MAX_MS = 15_000

type ReconnectPlan = 'stop' | 'now' | 'backoff'

/**
 * What to do after the server or the network closed the socket. `1012`: the instance is
 * restarting and another one is ready, so at once. 4401/4403/4400/1009: never (the caller
 * is told). Anything else (network loss, 4408, 4429, a proxy going away): after a backoff.
 */
export function planReconnect(closeCode: number): ReconnectPlan {
  if (FINAL_CLOSE_CODES.has(closeCode)) return 'stop'
  return closeCode === CLOSE.SERVICE_RESTART ? 'now' : 'backoff'
}

/**
 * Exponential backoff with "equal jitter": between half and all of the doubled delay, so
 * clients dropped together (an instance died) spread their reconnects out but never retry
 * in a tight loop. `attempt` counts from 0.
 */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt))
  return ceiling / 2 + (random() * ceiling) / 2
}
