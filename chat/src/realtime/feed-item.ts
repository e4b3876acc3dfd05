import { isRoomEvent, type MemberChange, type ServerFrame, type StreamItem } from '@chat/common/chat-protocol'

/**
 * A stored message or event on its way to sockets: its seq, for the feed's ordering, and its
 * frame exactly as sockets get it. The instance that stored it serializes the frame once;
 * every instance hands that string to its sockets as it is.
 */
export type FeedItem = { seq: number; frame: string }

/** The frame of a stream item: `message` for a stored message, `event` for everything else. */
export function toStreamFrame(item: StreamItem): ServerFrame {
  return isRoomEvent(item) ? { type: 'event', ...item } : { type: 'message', ...item }
}

export const toFeedItem = (item: StreamItem): FeedItem => ({ seq: item.seq, frame: JSON.stringify(toStreamFrame(item)) })

/** The `member` changes after which the user is no longer in the room. */
const ENDING_CHANGES = new Set<MemberChange>(['left', 'removed', 'banned'])

/** The user whose membership this item ends (a `member` event that is a leave, a removal or a ban), else null. */
export function membershipEndedByItem(item: StreamItem): string | null {
  if (!isRoomEvent(item) || item.kind !== 'member') return null
  const { userId, change } = item.data as { userId?: unknown; change?: unknown }
  return typeof userId === 'string' && ENDING_CHANGES.has(change as MemberChange) ? userId : null
}

/**
 * The same, of a frame as the feed carries it. Only member event frames are parsed: a frame
 * of JSON.stringify holds `"kind":"member"` literally only as its own key, never inside a string.
 */
export function membershipEndedBy(frame: string): string | null {
  if (!frame.startsWith('{"type":"event"') || !frame.includes('"kind":"member"')) return null
  return membershipEndedByItem(JSON.parse(frame) as StreamItem)
}
