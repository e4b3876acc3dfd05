import type { Sql } from '@chat/common/db'

export async function isMember(sql: Sql, roomId: string, userId: string): Promise<boolean> {
  const [row] = await sql`select 1 from chat.members where room_id = ${roomId} and user_id = ${userId}`
  return row !== undefined
}
