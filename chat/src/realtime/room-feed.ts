import type { FeedItem } from './feed-item'

/** How long a hole may stay open, with nothing delivered meanwhile, before what is missing is read from Postgres. */
export const GAP_FILL_DELAY_MS = 200
/** Items read per catch-up query; `readAfter` returns at most this many. */
export const CATCH_UP_PAGE = 500

/**
 * One room's live stream on one instance: its stored messages and events, which share the
 * room's seqs. Items reach it from the broker in any order (several instances publish) and
 * possibly with holes (a lost pub/sub message); it hands them on strictly in seq order
 * with no gap and no duplicate, reading missing ones from Postgres (both tables) when a
 * hole does not close by itself.
 */
export type RoomFeed = {
  readonly roomId: string
  /** The highest seq handed on; everything at or below it is stored and was delivered. */
  readonly deliveredSeq: number
  readonly started: boolean
  /** Sets the starting point (the room's last seq when the feed was subscribed). */
  start(lastSeq: number): void
  offer(items: FeedItem[]): void
  /** Reads from Postgres whatever lies beyond deliveredSeq (after a reconnect, or a periodic check). */
  catchUp(): Promise<void>
  stop(): void
}

export function createRoomFeed(
  roomId: string,
  deliver: (item: FeedItem) => void,
  readAfter: (roomId: string, seq: number) => Promise<FeedItem[]>,
  onError: (error: unknown) => void,
): RoomFeed {
  let deliveredSeq = 0
  let started = false
  let stopped = false
  const waiting = new Map<number, FeedItem>()
  let gapTimer: Timer | null = null
  let reading: Promise<void> | null = null

  const drain = () => {
    const from = deliveredSeq
    let next = waiting.get(deliveredSeq + 1)
    while (next !== undefined) {
      waiting.delete(next.seq)
      deliveredSeq = next.seq
      deliver(next)
      next = waiting.get(deliveredSeq + 1)
    }
    // A hole that closed by itself needs no read; one still open (or a new one) gets its full delay from here.
    if (deliveredSeq !== from && gapTimer !== null) {
      clearTimeout(gapTimer)
      gapTimer = null
    }
    if (waiting.size > 0 && gapTimer === null) gapTimer = setTimeout(fillGap, GAP_FILL_DELAY_MS)
  }

  const offer = (items: FeedItem[]) => {
    for (const item of items) {
      if (started && item.seq <= deliveredSeq) continue
      waiting.set(item.seq, item)
    }
    if (started) drain()
  }

  const catchUp = (): Promise<void> => {
    if (stopped || !started) return Promise.resolve()
    reading ??= (async () => {
      try {
        for (;;) {
          const rows = await readAfter(roomId, deliveredSeq)
          if (stopped) break
          offer(rows)
          if (rows.length < CATCH_UP_PAGE) break
        }
      } catch (error) {
        onError(error)
      } finally {
        reading = null
      }
    })()
    return reading
  }

  function fillGap() {
    gapTimer = null
    if (waiting.size > 0) void catchUp()
  }

  return {
    roomId,
    get deliveredSeq() {
      return deliveredSeq
    },
    get started() {
      return started
    },
    start(lastSeq) {
      deliveredSeq = lastSeq
      started = true
      for (const seq of waiting.keys()) if (seq <= lastSeq) waiting.delete(seq)
      drain()
    },
    offer,
    catchUp,
    stop() {
      stopped = true
      if (gapTimer !== null) clearTimeout(gapTimer)
      waiting.clear()
    },
  }
}
