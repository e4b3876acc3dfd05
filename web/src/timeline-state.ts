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
 * The one line of read receipts to show: under the newest message that someone else has
 * read, naming everyone else whose marker reaches it. `seqs` are the shown messages' seqs.
 */
export function seenBy(seqs: readonly number[], markers: ReadonlyMap<string, number>, myId: string): { seq: number; userIds: string[] } | null {
  let newest: number | null = null
  for (const [userId, marker] of markers) {
    if (userId === myId) continue
    const read = lastAtOrBefore(seqs, marker)
    if (read !== null && (newest === null || read > newest)) newest = read
  }
  if (newest === null) return null
  const at = newest
  const userIds = [...markers].filter(([userId, marker]) => userId !== myId && marker >= at).map(([userId]) => userId)
  return { seq: at, userIds }
}

function lastAtOrBefore(seqs: readonly number[], marker: number): number | null {
  let found: number | null = null
  for (const seq of seqs) if (seq <= marker && (found === null || seq > found)) found = seq
  return found
}
