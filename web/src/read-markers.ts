import type { ApiClient } from '@chat/client/api'

/** Read markers of the open room are sent at most this often while messages stream in. */
const READ_MARK_INTERVAL_MS = 500

/**
 * Sends the user's read markers: a throttle, not a debounce, so a busy room is still marked
 * every interval; the marker is the room's newest seq when the timer fires, so what
 * arrived while it waited is covered too.
 */
export function createReadMarkers(api: ApiClient, newestSeq: (roomId: string) => number) {
  const timers = new Map<string, ReturnType<typeof setTimeout>>()
  return {
    mark(roomId: string) {
      if (timers.has(roomId)) return
      timers.set(
        roomId,
        setTimeout(() => {
          timers.delete(roomId)
          const seq = newestSeq(roomId)
          if (seq > 0) api.markRead(roomId, seq).catch(() => {})
        }, READ_MARK_INTERVAL_MS),
      )
    },
    stop() {
      for (const timer of timers.values()) clearTimeout(timer)
      timers.clear()
    },
  }
}
