import type { Message } from '@chat/common/chat-protocol'

export type MessageRow = {
  id: string
  room_id: string
  seq: string | number | bigint
  sender_id: string
  body: string
  client_id: string
  created_at: Date
  reply_to: string | null
  edited_at: Date | null
  deleted_at: Date | null
}

/**
 * Every column a MessageRow has. Reads name them rather than `*`: the table also holds
 * the search vector (migration 004), hundreds of bytes a row that only search's index needs.
 */
export const MESSAGE_COLUMNS = ['room_id', 'seq', 'id', 'sender_id', 'body', 'client_id', 'created_at', 'reply_to', 'edited_at', 'deleted_at']

/** A message in its current state; optional fields appear only when they apply. */
export function toMessage(row: MessageRow): Message {
  const message: Message = {
    id: row.id,
    room: row.room_id,
    seq: Number(row.seq),
    senderId: row.sender_id,
    body: row.body,
    clientId: row.client_id,
    createdAt: row.created_at.toISOString(),
  }
  if (row.reply_to !== null) message.replyTo = row.reply_to
  if (row.edited_at !== null) message.editedAt = row.edited_at.toISOString()
  if (row.deleted_at !== null) message.deleted = true
  return message
}
