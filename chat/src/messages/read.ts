import type { Message } from '@chat/common/chat-protocol'
import type { Sql } from '@chat/common/db'
import { MESSAGE_COLUMNS, toMessage, type MessageRow } from './model'

/** Messages with `afterSeq < seq <= uptoSeq` (no upper bound when null), ascending, at most `limit`. */
export async function readMessagesAfter(sql: Sql, roomId: string, afterSeq: number, uptoSeq: number | null, limit: number): Promise<Message[]> {
  const rows = await sql<MessageRow[]>`
    select ${sql(MESSAGE_COLUMNS)} from chat.messages
    where room_id = ${roomId} and seq > ${afterSeq} ${uptoSeq === null ? sql`` : sql`and seq <= ${uptoSeq}`}
    order by seq
    limit ${limit}`
  return rows.map(toMessage)
}
