import type { TransactionSql as Tx } from 'postgres'
import type { Message, MemberRole, RoomEvent } from '@chat/common/chat-protocol'
import type { ChatDeps } from '../deps'
import { findAccessFailure, type AccessFailure } from '../rooms/service'
import { appendEvents } from '../timeline/service'
import type { NewEvent } from '../timeline/model'
import { bodyProblem } from '../ws/send-policy'
import { isOneEmoji } from './emoji'
import { toMessage, type MessageRow } from './model'

/**
 * Why a change to a message is refused: the room is unknown or not the caller's
 * (AccessFailure, answered like every room route), the message is unknown or deleted,
 * it is someone else's, the body or emoji is not acceptable, or the message already
 * carries as many distinct emoji as allowed.
 */
export type ChangeFailure = AccessFailure | 'MESSAGE_NOT_FOUND' | 'NOT_ALLOWED' | 'BAD_BODY' | 'BAD_EMOJI' | 'TOO_MANY_REACTIONS'
type Refused = { ok: false; reason: ChangeFailure; detail?: string }

export type EditResult = { ok: true; message: Message } | Refused
export type ChangeResult = { ok: true } | Refused

type Deps = Pick<ChatDeps, 'sql' | 'config' | 'realtime'>

/** Who may change the message, as seen under the room's lock. */
type Target = { senderId: string; role: MemberRole }

/**
 * Locks the room row, then reads the caller's membership and the message. The lock is the
 * one the message store and every membership change take, so a member removed while this
 * waited is seen as removed: the two statements are sent together, but Postgres runs the
 * second (and takes its snapshot) only once the first has the lock. The event appended
 * later gets the next seq under the same lock.
 */
async function lockTarget(tx: Tx, roomId: string, messageId: string, userId: string): Promise<{ ok: true; target: Target } | Refused> {
  const [[room], [row]] = await Promise.all([
    tx<{ private: boolean }[]>`select private from chat.rooms where id = ${roomId} for update`,
    tx<{ role: MemberRole | null; sender_id: string | null; deleted: boolean | null }[]>`
      select
        (select role from chat.members where room_id = ${roomId} and user_id = ${userId}) as role,
        (select sender_id from chat.messages where room_id = ${roomId} and id = ${messageId}) as sender_id,
        (select deleted_at is not null from chat.messages where room_id = ${roomId} and id = ${messageId}) as deleted`,
  ])
  if (room === undefined) return { ok: false, reason: 'NOT_FOUND' }
  const failure = findAccessFailure({ private: room.private, member: row.role !== null })
  if (failure !== null) return { ok: false, reason: failure }
  if (row.sender_id === null || row.deleted === true) return { ok: false, reason: 'MESSAGE_NOT_FOUND' }
  return { ok: true, target: { senderId: row.sender_id, role: row.role! } }
}

/** Stores events in the change's transaction (see appendEvents); a change sends it together with its own writes. */
type Append = (events: NewEvent[]) => Promise<void>

/**
 * Runs `change` in a transaction under the room's lock with the checked target, and
 * publishes the events it appended once committed. A change issues its writes and its
 * `append` together (Promise.all): Postgres runs them in order, and the room stays locked
 * for fewer round trips.
 */
async function changeMessage<T extends { ok: true }>(
  deps: Deps,
  roomId: string,
  messageId: string,
  userId: string,
  change: (tx: Tx, target: Target, append: Append) => Promise<T | Refused>,
): Promise<T | Refused> {
  let published: RoomEvent[] = []
  const result = (await deps.sql.begin(async (tx) => {
    const locked = await lockTarget(tx, roomId, messageId, userId)
    if (!locked.ok) return locked
    return change(tx, locked.target, async (events) => {
      published = await appendEvents(tx, roomId, events)
    })
  })) as T | Refused
  if (published.length > 0) await deps.realtime.publishEvents(published).catch(() => {})
  return result
}

/** Its sender only, while a member; the body follows the rules of `send`. Emits `edit{body}`. */
export async function editMessage(deps: Deps, roomId: string, messageId: string, userId: string, body: string): Promise<EditResult> {
  const problem = bodyProblem(body, deps.config.MESSAGE_MAX_CHARS)
  if (problem !== null) return { ok: false, reason: 'BAD_BODY', detail: problem }
  messageId = messageId.toLowerCase()
  return changeMessage<{ ok: true; message: Message }>(deps, roomId, messageId, userId, async (tx, target, append) => {
    if (target.senderId !== userId) return { ok: false, reason: 'NOT_ALLOWED' }
    const [[row]] = await Promise.all([
      tx<MessageRow[]>`update chat.messages set body = ${body}, edited_at = now() where id = ${messageId} returning *`,
      append([{ kind: 'edit', actorId: userId, target: messageId, data: { body } }]),
    ])
    return { ok: true, message: toMessage(row) }
  })
}

/**
 * Its sender, or an owner/admin of the room. The text is erased, not hidden: the body, the
 * bodies its edit events carried and its reactions are gone; the row stays as a tombstone
 * so the room's seqs stay gapless and replies keep their `replyTo`. Emits `delete{}`.
 */
export async function deleteMessage(deps: Deps, roomId: string, messageId: string, userId: string): Promise<ChangeResult> {
  messageId = messageId.toLowerCase()
  return changeMessage<{ ok: true }>(deps, roomId, messageId, userId, async (tx, target, append) => {
    if (target.senderId !== userId && target.role === 'member') return { ok: false, reason: 'NOT_ALLOWED' }
    await Promise.all([
      tx`update chat.messages set body = '', deleted_at = now() where id = ${messageId}`,
      tx`delete from chat.reactions where message_id = ${messageId}`,
      tx`
        update chat.events set data = jsonb_build_object('body', '')
        where room_id = ${roomId} and target = ${messageId} and kind = 'edit'`,
      append([{ kind: 'delete', actorId: userId, target: messageId, data: {} }]),
    ])
    return { ok: true }
  })
}

/**
 * Adds (`added`) or removes the caller's reaction. Idempotent: an event is emitted only
 * when the state changes. A new emoji is refused once the message carries
 * REACTIONS_MAX_PER_MESSAGE distinct ones; adding to an existing one is always allowed.
 */
export async function setReaction(deps: Deps, roomId: string, messageId: string, userId: string, emoji: string, added: boolean): Promise<ChangeResult> {
  if (!isOneEmoji(emoji)) return { ok: false, reason: 'BAD_EMOJI' }
  messageId = messageId.toLowerCase()
  return changeMessage<{ ok: true }>(deps, roomId, messageId, userId, async (tx, _target, append) => {
    const event: NewEvent = { kind: 'reaction', actorId: userId, target: messageId, data: { emoji, added } }
    if (!added) {
      const removed = await tx`delete from chat.reactions where message_id = ${messageId} and user_id = ${userId} and emoji = ${emoji} returning 1`
      if (removed.length > 0) await append([event])
      return { ok: true }
    }
    // The room lock serializes every reaction of the room, so the count cannot change before the insert.
    const [state] = await tx<{ mine: boolean; known: boolean; distinct: number }[]>`
      select bool_or(user_id = ${userId} and emoji = ${emoji}) is true as mine, bool_or(emoji = ${emoji}) is true as known,
        count(distinct emoji)::int as distinct
      from chat.reactions where message_id = ${messageId}`
    if (state.mine) return { ok: true }
    if (!state.known && state.distinct >= deps.config.REACTIONS_MAX_PER_MESSAGE) return { ok: false, reason: 'TOO_MANY_REACTIONS' }
    await Promise.all([tx`insert into chat.reactions (message_id, user_id, emoji) values (${messageId}, ${userId}, ${emoji})`, append([event])])
    return { ok: true }
  })
}
