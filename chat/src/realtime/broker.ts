import type { StreamItem } from '@chat/common/chat-protocol'
import { toFeedItem, type FeedItem } from './feed-item'

/** What travels between chat instances about one room. */
export type BrokerEvent =
  | { kind: 'timeline'; items: FeedItem[] }
  | { kind: 'presence'; userId: string; online: boolean }
  | { kind: 'typing'; userId: string }
  /** A member's read marker moved (coalesced by each receiving instance, see receipts.ts). */
  | { kind: 'receipt'; userId: string; seq: number }

/**
 * Fan-out between chat instances. Delivery is best effort (at most once, in publish order
 * per publisher): a message lost here is never lost for clients, because stored messages and
 * events are replayed from Postgres by seq (gap fill, catch-up after reconnect).
 */
export type RoomBroker = {
  /** Resolves once events published from now on will reach `onEvent`. */
  subscribe(roomId: string): Promise<void>
  unsubscribe(roomId: string): Promise<void>
  /** Sends one event to every instance subscribed to the room (this one included). */
  publish(roomId: string, event: BrokerEvent): Promise<void>
  onEvent(handler: (roomId: string, event: BrokerEvent) => void): void
  /** Called after the connection to the broker came back: events may have been missed. */
  onReconnect(handler: () => void): void
  stop(): Promise<void>
}

/** How an event is written on a channel and read back; a reader throws on what it cannot read. */
export type BrokerCodec<E> = { encode(event: E): string; decode(message: string): E }

export const jsonCodec = <E>(): BrokerCodec<E> => ({ encode: (event) => JSON.stringify(event), decode: (message) => JSON.parse(message) as E })

const TIMELINE_MARK = 'T'
/** How every frame of toStreamFrame begins once serialized. */
const FRAME_START = '{"type":'

/**
 * Room events as JSON, except the timeline: `T[seq,…]` then each frame on a line of its own.
 * A frame is the output of JSON.stringify, which never holds a raw line break, so receivers
 * split the frames out instead of parsing them as JSON inside JSON and serializing them
 * again: with direct messages (two deliveries each), that parse and stringify were about a
 * tenth of a chat instance's CPU.
 */
export const roomEventCodec: BrokerCodec<BrokerEvent> = {
  encode(event) {
    if (event.kind !== 'timeline') return JSON.stringify(event)
    return `${TIMELINE_MARK}${JSON.stringify(event.items.map((item) => item.seq))}\n${event.items.map((item) => item.frame).join('\n')}`
  },
  decode(message) {
    if (!message.startsWith(TIMELINE_MARK)) return fromJson(JSON.parse(message))
    const lineEnd = message.indexOf('\n')
    if (lineEnd < 0) throw new Error('a timeline event without frames')
    const seqs: unknown = JSON.parse(message.slice(TIMELINE_MARK.length, lineEnd))
    const frames = message.slice(lineEnd + 1).split('\n')
    if (!Array.isArray(seqs) || seqs.length !== frames.length || !seqs.every(Number.isSafeInteger)) {
      throw new Error('a timeline event whose seqs and frames do not match')
    }
    // Whatever else it is, nothing but a stream frame may reach the sockets.
    if (!frames.every((frame) => frame.startsWith(FRAME_START))) throw new Error('a timeline event with something else than frames')
    return { kind: 'timeline', items: seqs.map((seq: number, i) => ({ seq, frame: frames[i] })) }
  },
}

/**
 * An instance of the version before this wire form (during a rolling deploy) publishes the
 * timeline as JSON with the items whole; they are serialized here. The other way round, an
 * older instance cannot read `T…` and drops it (a warning); its rooms then catch up from
 * Postgres at the hub's next reconcile (every second) or the next item it can read: late,
 * never lost.
 */
function fromJson(event: Exclude<BrokerEvent, { kind: 'timeline' }> | { kind: 'timeline'; items: StreamItem[] }): BrokerEvent {
  if (event.kind !== 'timeline') return event
  if (!event.items.every((item) => Number.isSafeInteger(item?.seq))) throw new Error('a timeline event with an item without a seq')
  return { kind: 'timeline', items: event.items.map(toFeedItem) }
}
