import { isRoomEvent, type ServerFrame, type StreamItem } from '@chat/common/chat-protocol'

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
