import type { LeftReason } from '@chat/common/chat-protocol'

/**
 * What travels between chat instances about one user, for every socket of theirs
 * whether or not it joined the room in question: a membership that ended, or one that
 * began (a join, an addition, a DM opened by someone else, an invite accepted on another device).
 */
export type UserEvent = { kind: 'membership-ended'; room: string; reason: LeftReason } | { kind: 'room-added'; room: string }

/**
 * Delivery of user events to the instances holding that user's sockets. Best effort, like
 * the room broker (at most once, in publish order per publisher): authorization never
 * depends on it, since membership is checked at every `send` and `join`; it only tells
 * sockets at once, and stops live delivery of a room the user may no longer read.
 */
export type UserBroker = {
  /** Resolves once events published to the user from now on will reach `onEvent`. */
  subscribe(userId: string): Promise<void>
  unsubscribe(userId: string): Promise<void>
  /** Sends one event to every instance subscribed to the user (this one included). */
  publish(userId: string, event: UserEvent): Promise<void>
  onEvent(handler: (userId: string, event: UserEvent) => void): void
  /** Called after the connection to the broker came back: events may have been missed. */
  onReconnect(handler: () => void): void
  stop(): Promise<void>
}
