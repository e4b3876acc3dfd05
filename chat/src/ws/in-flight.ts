import type { ClientFrame } from '@chat/common/chat-protocol'
import { withTimeout } from '@chat/common/async'

/** Frames a socket is still handling, so a restart can let them finish: a `send` being stored gets its ack. */
export function createInFlight() {
  const handling = new Map<Promise<void>, ClientFrame>()
  return {
    async track(frame: ClientFrame, work: Promise<void>): Promise<void> {
      handling.set(work, frame)
      await work
      handling.delete(work)
    },
    /** Waits up to `ms` for the frames being handled; returns the sends still unanswered then. */
    async drain(ms: number): Promise<Extract<ClientFrame, { type: 'send' }>[]> {
      await withTimeout(Promise.all(handling.keys()), ms).catch(() => {})
      return [...handling.values()].filter((frame) => frame.type === 'send')
    },
  }
}
