import type { ChatDeps } from '../deps'
import { findAccessFailure, findRoomAccess, type AccessFailure } from '../rooms/service'
import type { Receipts } from './model'

export type ReceiptsResult = { ok: true; receipts: Receipts } | { ok: false; reason: AccessFailure }

/**
 * Each member's read marker, for "seen by". The most advanced first and at most
 * RECEIPTS_LIST_MAX of them: those are the ones a client shows under recent messages.
 */
export async function listReceipts(deps: Pick<ChatDeps, 'sql' | 'config'>, roomId: string, callerId: string): Promise<ReceiptsResult> {
  const failure = findAccessFailure(await findRoomAccess(deps.sql, roomId, callerId))
  if (failure !== null) return { ok: false, reason: failure }
  const rows = await deps.sql<{ user_id: string; read_seq: string }[]>`
    select user_id, read_seq from chat.members
    where room_id = ${roomId} and read_seq > 0
    order by read_seq desc, user_id
    limit ${deps.config.RECEIPTS_LIST_MAX}`
  return { ok: true, receipts: rows.map((row) => ({ userId: row.user_id, seq: Number(row.read_seq) })) }
}
