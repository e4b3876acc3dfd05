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
 * waited is seen as removed (the second statement's snapshot is taken after the lock was
 * granted), and the event appended later gets the next seq under the same lock.
 */
async function lockTarget(tx: Tx, roomId: string, messageId: string, userId: string): Promise<{ ok: true; target: Target } | Refused> {
  const [room] = await tx<{ private: boolean }[]>`select private from chat.rooms where id = ${roomId} for update`
  if (room === undefined) return { ok: false, reason: 'NOT_FOUND' }
  const [row] = await tx<{ role: MemberRole | null; sender_id: string | null; deleted: boolean | null }[]>`
    select
      (select role from chat.members where room_id = ${roomId} and user_id = ${userId}) as role,
      msg.sender_id, msg.deleted_at is not null as deleted
    from (select 1) as one
    left join chat.messages msg on msg.room_id = ${roomId} and msg.id = ${messageId}`
  const failure = findAccessFailure({ private: room.private, ownerId: null, member: row.role !== null })
  if (failure !== null) return { ok: false, reason: failure }
  if (row.sender_id === null || row.deleted === true) return { ok: false, reason: 'MESSAGE_NOT_FOUND' }
  return { ok: true, target: { senderId: row.sender_id, role: row.role! } }
}

/**
 * Runs `change` in a transaction under the room's lock with the checked target, appends
 * the events it returns, and publishes them once committed.
 */
async function changeMessage<T extends { ok: true }>(
  deps: Deps,
  roomId: string,
  messageId: string,
  userId: string,
  change: (tx: Tx, target: Target) => Promise<{ result: T | Refused; events: NewEvent[] }>,
): Promise<T | Refused> {
  let published: RoomEvent[] = []
  const result = (await deps.sql.begin(async (tx) => {
    const locked = await lockTarget(tx, roomId, messageId, userId)
    if (!locked.ok) return locked
    const { result, events } = await change(tx, locked.target)
    published = await appendEvents(tx, roomId, events)
    return result
  })) as T | Refused
  if (published.length > 0) await deps.realtime.publishEvents(published).catch(() => {})
  return result
}

/** Its sender only, while a member; the body follows the rules of `send`. Emits `edit{body}`. */
export async function editMessage(deps: Deps, roomId: string, messageId: string, userId: string, body: string): Promise<EditResult> {
  const problem = bodyProblem(body, deps.config.MESSAGE_MAX_CHARS)
  if (problem !== null) return { ok: false, reason: 'BAD_BODY', detail: problem }
  messageId = messageId.toLowerCase()
  return changeMessage<{ ok: true; message: Message }>(deps, roomId, messageId, userId, async (tx, target) => {
    if (target.senderId !== userId) return { result: { ok: false, reason: 'NOT_ALLOWED' }, events: [] }
    const [row] = await tx<MessageRow[]>`update chat.messages set body = ${body}, edited_at = now() where id = ${messageId} returning *`
    return { result: { ok: true, message: toMessage(row) }, events: [{ kind: 'edit', actorId: userId, target: messageId, data: { body } }] }
  })
}

/**
 * Its sender, or an owner/admin of the room. The text is erased, not hidden: the body, the
 * bodies its edit events carried and its reactions are gone; the row stays as a tombstone
 * so the room's seqs stay gapless and replies keep their `replyTo`. Emits `delete{}`.
 */
export async function deleteMessage(deps: Deps, roomId: string, messageId: string, userId: string): Promise<ChangeResult> {
  messageId = messageId.toLowerCase()
  return changeMessage<{ ok: true }>(deps, roomId, messageId, userId, async (tx, target) => {
    if (target.senderId !== userId && target.role === 'member') return { result: { ok: false, reason: 'NOT_ALLOWED' }, events: [] }
    await tx`update chat.messages set body = '', deleted_at = now() where id = ${messageId}`
    await tx`delete from chat.reactions where message_id = ${messageId}`
    await tx`
      update chat.events set data = jsonb_build_object('body', '')
      where room_id = ${roomId} and target = ${messageId} and kind = 'edit'`
    return { result: { ok: true }, events: [{ kind: 'delete', actorId: userId, target: messageId, data: {} }] }
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
  return changeMessage<{ ok: true }>(deps, roomId, messageId, userId, async (tx) => {
    const event: NewEvent = { kind: 'reaction', actorId: userId, target: messageId, data: { emoji, added } }
    if (!added) {
      const removed = await tx`delete from chat.reactions where message_id = ${messageId} and user_id = ${userId} and emoji = ${emoji} returning 1`
      return { result: { ok: true }, events: removed.length > 0 ? [event] : [] }
    }
    // The room lock serializes every reaction of the room, so the count cannot change before the insert.
    const [state] = await tx<{ mine: boolean; known: boolean; distinct: number }[]>`
      select bool_or(user_id = ${userId} and emoji = ${emoji}) is true as mine, bool_or(emoji = ${emoji}) is true as known,
        count(distinct emoji)::int as distinct
      from chat.reactions where message_id = ${messageId}`
    if (state.mine) return { result: { ok: true }, events: [] }
    if (!state.known && state.distinct >= deps.config.REACTIONS_MAX_PER_MESSAGE) return { result: { ok: false, reason: 'TOO_MANY_REACTIONS' }, events: [] }
    await tx`insert into chat.reactions (message_id, user_id, emoji) values (${messageId}, ${userId}, ${emoji})`
    return { result: { ok: true }, events: [event] }
  })
}
