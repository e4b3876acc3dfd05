import type { Message } from '@chat/common/chat-protocol'

export type MessageRow = {
  id: string
  room_id: string
  seq: string | number | bigint
  sender_id: string
  body: string
  client_id: string
  created_at: Date
}

export function toMessage(row: MessageRow): Message {
  return {
    id: row.id,
    room: row.room_id,
    seq: Number(row.seq),
    senderId: row.sender_id,
    body: row.body,
    clientId: row.client_id,
    createdAt: row.created_at.toISOString(),
  }
}
