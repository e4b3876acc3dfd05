import type { RoomBroker } from './broker'
import { roomTopic, type TopicPublish } from './hub'

export type Receipt = { userId: string; seq: number }

/**
 * Holds read receipts per room for `flushMs` from the first one, keeping each member's
 * newest marker only, then hands them on together: a busy room sends at most one burst per
 * `flushMs`, with one entry per member whose marker moved, however often markers move.
 */
export function createReceiptCoalescer(flushMs: number, emit: (roomId: string, receipts: Receipt[]) => void) {
  const pending = new Map<string, Map<string, number>>()
  const timers = new Map<string, Timer>()

  const flush = (roomId: string) => {
    timers.delete(roomId)
    const markers = pending.get(roomId)
    pending.delete(roomId)
    if (markers !== undefined) emit(roomId, [...markers].map(([userId, seq]) => ({ userId, seq })))
  }

  return {
    add(roomId: string, receipt: Receipt) {
      const markers = pending.get(roomId) ?? new Map<string, number>()
      pending.set(roomId, markers)
      markers.set(receipt.userId, Math.max(markers.get(receipt.userId) ?? 0, receipt.seq))
      if (!timers.has(roomId)) timers.set(roomId, setTimeout(() => flush(roomId), flushMs))
    },
    stop() {
      for (const timer of timers.values()) clearTimeout(timer)
      timers.clear()
      pending.clear()
    },
  }
}

/**
 * Read receipts travel like typing notices: through the room broker to every instance with
 * sockets in the room, where they are coalesced and published to the room's topic as
 * `receipt` frames. Best effort: a lost one is current again at the next move, and
 * `GET /chat/rooms/:id/receipts` has them all.
 */
export function createReceiptRelay(broker: RoomBroker, publish: TopicPublish, flushMs: number) {
  const coalescer = createReceiptCoalescer(flushMs, (roomId, receipts) => {
    for (const { userId, seq } of receipts) publish(roomTopic(roomId), JSON.stringify({ type: 'receipt', room: roomId, userId, seq }))
  })
  broker.onEvent((roomId, event) => {
    if (event.kind === 'receipt') coalescer.add(roomId, { userId: event.userId, seq: event.seq })
  })
  return {
    /** A member's marker moved (committed): tell every instance. */
    moved: (roomId: string, userId: string, seq: number) => broker.publish(roomId, { kind: 'receipt', userId, seq }),
    stop: coalescer.stop,
  }
}
