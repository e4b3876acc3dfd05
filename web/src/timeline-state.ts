import type { RoomEvent, Message } from '@chat/common/chat-protocol'

/**
 * A message after one edit, deletion or reaction of the room's stream; the message as it
 * was for any other event. Pure, so every rule is unit-tested (timeline-state.test.ts).
 */
export function applyEvent(message: Message, event: RoomEvent, myId: string): Message {
  if (targetOf(event) !== message.id) return message
  switch (event.kind) {
    case 'edit':
      return message.deleted === true ? message : { ...message, body: event.data.body, editedAt: event.createdAt }
    case 'delete':
      // As history shows a tombstone: no body, no reactions; `replyTo` stays.
      return { ...message, body: '', deleted: true as const, reactions: [] }
    case 'reaction':
      return message.deleted === true ? message : { ...message, reactions: withReaction(message.reactions ?? [], event.data.emoji, event.data.added, event.actorId === myId) }
    default:
      return message
  }
}

/** The message an edit, deletion or reaction is about; null for membership and room changes. */
export function targetOf(event: RoomEvent): string | null {
  return 'target' in event ? event.target : null
}

function withReaction(reactions: NonNullable<Message['reactions']>, emoji: string, added: boolean, mine: boolean) {
  const existing = reactions.find((r) => r.emoji === emoji)
  // The stream tells each change once, but the caller's own state is known exactly: a repeat never counts twice.
  if (mine && existing !== undefined && existing.me === added) return reactions
  const count = Math.max(0, (existing?.count ?? 0) + (added ? 1 : -1))
  const me = mine ? added : (existing?.me ?? false)
  if (existing === undefined) return added ? [...reactions, { emoji, count: 1, me }] : reactions
  if (count === 0) return reactions.filter((r) => r !== existing)
  return reactions.map((r) => (r === existing ? { emoji, count, me } : r))
}

/**
 * The one line of read receipts to show: under the newest shown message that someone
 * other than me and its sender has read, naming everyone of them whose marker reaches it
 * (a sender has read their own message; saying so tells nothing).
 */
export function seenBy(shown: readonly { seq: number; senderId: string }[], markers: ReadonlyMap<string, number>, myId: string): { seq: number; userIds: string[] } | null {
  for (let i = shown.length - 1; i >= 0; i--) {
    const { seq, senderId } = shown[i]
    const readers = [...markers].filter(([userId, marker]) => userId !== myId && userId !== senderId && marker >= seq).map(([userId]) => userId)
    if (readers.length > 0) return { seq, userIds: readers }
  }
  return null
}
