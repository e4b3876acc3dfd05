import type { StreamItem } from '@chat/common/chat-protocol'

/** What travels between chat instances about one room. */
export type BrokerEvent =
  | { kind: 'timeline'; items: StreamItem[] }
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
