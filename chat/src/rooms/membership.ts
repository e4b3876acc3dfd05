import type { TransactionSql } from 'postgres'
import type { LeftReason, MemberChange, MemberRole, RoomEvent } from '@chat/common/chat-protocol'
import type { Sql } from '@chat/common/db'
import type { ChatDeps } from '../deps'
import type { NewEvent } from '../timeline/model'

/**
 * Makes users members (role `member`); answers those who were not members before, whose
 * memberships began here. Messages stored before someone became a member are not unread
 * for them: the marker starts at the room's current last seq.
 */
export async function insertMembers(sql: Sql | TransactionSql, roomId: string, userIds: string[]): Promise<string[]> {
  const rows = await sql<{ user_id: string }[]>`
    insert into chat.members (room_id, user_id, read_seq)
    select r.id, u.id, r.last_seq from chat.rooms r, unnest(${sql.array(userIds)}::uuid[]) as u (id)
    where r.id = ${roomId}
    on conflict do nothing
    returning user_id`
  return rows.map((row) => row.user_id)
}

/** The `member` event of a membership change, for `appendEvents`. */
export function memberEvent(actorId: string, userId: string, change: MemberChange, role?: MemberRole): NewEvent {
  return { kind: 'member', actorId, data: role === undefined ? { userId, change } : { userId, change, role } }
}

/** What a committed membership change still has to tell: its events, and whose memberships began or ended. */
export type Aftermath = {
  roomId: string
  events: RoomEvent[]
  added?: string[]
  ended?: { userIds: string[]; reason: LeftReason }
}

/**
 * Tells the real-time side about a committed change: the events to the room's sockets,
 * `room_added` or `left{reason}` to every socket of the users concerned. The change is
 * done whatever happens here, so a failure is logged, not answered: the events are
 * replayed from Postgres by seq, and membership is checked at every send and join anyway.
 */
export async function announce(deps: Pick<ChatDeps, 'realtime' | 'log'>, aftermath: Aftermath): Promise<void> {
  const { roomId, events, added = [], ended } = aftermath
  const tasks: Promise<void>[] = []
  if (events.length > 0) tasks.push(deps.realtime.publishEvents(events))
  for (const userId of added) tasks.push(deps.realtime.roomAdded(roomId, userId))
  for (const userId of ended?.userIds ?? []) tasks.push(deps.realtime.membershipEnded(roomId, userId, ended!.reason))
  for (const outcome of await Promise.allSettled(tasks)) {
    if (outcome.status === 'rejected') deps.log.warn('telling sockets about a membership change failed', { roomId, error: outcome.reason })
  }
}
