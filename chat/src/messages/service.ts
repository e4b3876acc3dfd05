import type { Fragment } from 'postgres'
import type { Message, MemberRole, RoomEvent } from '@chat/common/chat-protocol'
import { runInOneRoundTrip, type Sql } from '@chat/common/db'
import type { ChatDeps } from '../deps'
import { findAccessFailure, type AccessFailure } from '../rooms/service'
import type { NewEvent } from '../timeline/model'
import { bodyProblem } from '../ws/send-policy'
import { isOneEmoji } from './emoji'
import { MESSAGE_COLUMNS, toMessage, type MessageRow } from './model'

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

/** What the changing statement saw under the room's lock (no row: no such room) and the event it appended, if any. */
type ChangeRow = {
  private: boolean
  role: MemberRole | null
  sender_id: string | null
  deleted: boolean | null
  event_seq: string | null
  event_at: Date | null
}

/** How a change is written: who besides a member may make it, the writes, and what else to report. */
type ChangeSql = {
  /** Condition on `t` (the target: `t.role`, `t.sender_id`) that a member must meet, e.g. being the sender. */
  allowedIf: Fragment
  /**
   * Data-modifying CTEs, each guarded by `exists (select from allowed)`, the last named
   * `changed` and returning a row when the state changed (then the event is appended).
   */
  writes: Fragment
  /** More columns of the final row (from CTEs of `writes`). */
  columns?: Fragment
}

/**
 * One transaction in one round trip (see runInOneRoundTrip), on a generic plan like the
 * message store's: lock the room row (the lock
 * the message store and every membership change take), then one statement that reads the
 * caller's membership and the message, makes the change only if it is allowed, and
 * appends its event as the room's next seq only if the change changed something. That
 * statement takes its snapshot once the lock is granted, so a member removed while this
 * waited is seen as removed; no lock is held across a round trip to this process, so the
 * room's other writers (the message store above all) wait only for Postgres. `after`
 * statements run behind it in the same transaction (they see its writes).
 */
async function runChange<Extra extends object, After extends readonly Fragment[]>(
  deps: Deps,
  roomId: string,
  messageId: string,
  userId: string,
  event: NewEvent,
  change: (tx: Sql) => ChangeSql,
  after: (tx: Sql) => After = () => [] as unknown as After,
): Promise<{ row: (ChangeRow & Extra) | undefined; appended: RoomEvent | null; after: { [K in keyof After]: Awaited<After[K]> } }> {
  const [, [row], ...rest] = await runInOneRoundTrip(deps.sql, (tx) => {
    const { allowedIf, writes, columns } = change(tx)
    return [
      tx`select from chat.rooms where id = ${roomId} for update`,
      tx<(ChangeRow & Extra)[]>`
        with target as (
          select r.private, mb.role, m.sender_id, m.deleted_at is not null as deleted
          from chat.rooms r
          left join chat.members mb on mb.room_id = r.id and mb.user_id = ${userId}
          left join chat.messages m on m.room_id = r.id and m.id = ${messageId}
          where r.id = ${roomId}
        ),
        allowed as (
          select from target t where t.role is not null and t.sender_id is not null and not t.deleted and ${allowedIf}
        ),
        ${writes},
        reserved as (
          update chat.rooms set last_seq = last_seq + 1 where id = ${roomId} and exists (select from changed)
          returning last_seq, now() as at
        ),
        -- The data goes in as text: a parameter typed jsonb would be JSON-encoded once more
        -- by postgres.js and stored as a JSON string.
        appended as (
          insert into chat.events (room_id, seq, kind, actor_id, target, data, created_at)
          select ${roomId}::uuid, r.last_seq, ${event.kind}::text, ${event.actorId}::uuid, ${messageId}::uuid, ${JSON.stringify(event.data)}::text::jsonb, r.at
          from reserved r
          returning seq, created_at
        )
        select t.*, a.seq as event_seq, a.created_at as event_at ${columns ?? tx``}
        from target t left join appended a on true`,
      ...after(tx),
    ] as const
  }, { genericPlan: true })
  const appended =
    row?.event_seq == null
      ? null
      : ({ ...event, room: roomId, seq: Number(row.event_seq), target: messageId, createdAt: row.event_at!.toISOString() } as RoomEvent)
  return { row, appended, after: rest as unknown as { [K in keyof After]: Awaited<After[K]> } }
}

/** The refusal a change gets whatever it is: no room, not the caller's room, no such message. */
function accessRefusal(row: ChangeRow | undefined): Refused | null {
  if (row === undefined) return { ok: false, reason: 'NOT_FOUND' }
  const failure = findAccessFailure({ private: row.private, member: row.role !== null })
  if (failure !== null) return { ok: false, reason: failure }
  if (row.sender_id === null || row.deleted === true) return { ok: false, reason: 'MESSAGE_NOT_FOUND' }
  return null
}

/** Publishes the change's event once committed: a failure here only delays it (receivers catch up from Postgres). */
async function publish(deps: Deps, appended: RoomEvent | null) {
  if (appended !== null) await deps.realtime.publishEvents([appended]).catch(() => {})
}

/** Its sender only, while a member; the body follows the rules of `send`. Emits `edit{body}`. */
export async function editMessage(deps: Deps, roomId: string, messageId: string, userId: string, body: string): Promise<EditResult> {
  const problem = bodyProblem(body, deps.config.MESSAGE_MAX_CHARS)
  if (problem !== null) return { ok: false, reason: 'BAD_BODY', detail: problem }
  messageId = messageId.toLowerCase()
  const { row, appended, after } = await runChange(
    deps,
    roomId,
    messageId,
    userId,
    { kind: 'edit', actorId: userId, target: messageId, data: { body } },
    (tx) => ({
      allowedIf: tx`t.sender_id = ${userId}`,
      writes: tx`
        changed as (
          update chat.messages set body = ${body}, edited_at = now()
          where room_id = ${roomId} and id = ${messageId} and exists (select from allowed)
          returning 1
        )`,
    }),
    // Behind the edit in the same transaction: the message as edited.
    (tx) => [tx<MessageRow[]>`select ${tx(MESSAGE_COLUMNS)} from chat.messages where room_id = ${roomId} and id = ${messageId}`] as const,
  )
  const refusal = accessRefusal(row)
  if (refusal !== null) return refusal
  if (appended === null) return { ok: false, reason: 'NOT_ALLOWED' }
  await publish(deps, appended)
  return { ok: true, message: toMessage(after[0][0]) }
}

/**
 * Its sender, or an owner/admin of the room. The text is erased, not hidden: the body, the
 * bodies its edit events carried and its reactions are gone; the row stays as a tombstone
 * so the room's seqs stay gapless and replies keep their `replyTo`. Emits `delete{}`.
 */
export async function deleteMessage(deps: Deps, roomId: string, messageId: string, userId: string): Promise<ChangeResult> {
  messageId = messageId.toLowerCase()
  const { row, appended } = await runChange(deps, roomId, messageId, userId, { kind: 'delete', actorId: userId, target: messageId, data: {} }, (tx) => ({
    allowedIf: tx`(t.sender_id = ${userId} or t.role <> 'member')`,
    writes: tx`
      unreacted as (delete from chat.reactions where message_id = ${messageId} and exists (select from allowed)),
      scrubbed as (
        update chat.events set data = jsonb_build_object('body', '')
        where room_id = ${roomId} and target = ${messageId} and kind = 'edit' and exists (select from allowed)
      ),
      changed as (
        update chat.messages set body = '', deleted_at = now()
        where room_id = ${roomId} and id = ${messageId} and exists (select from allowed)
        returning 1
      )`,
  }))
  const refusal = accessRefusal(row)
  if (refusal !== null) return refusal
  if (appended === null) return { ok: false, reason: 'NOT_ALLOWED' }
  await publish(deps, appended)
  return { ok: true }
}

/**
 * Adds (`added`) or removes the caller's reaction. Idempotent: an event is emitted only
 * when the state changes. A new emoji is refused once the message carries
 * REACTIONS_MAX_PER_MESSAGE distinct ones; adding to an existing one is always allowed.
 * The room lock serializes every reaction of the room, so the count cannot change between
 * the statement's read and its insert.
 */
export async function setReaction(deps: Deps, roomId: string, messageId: string, userId: string, emoji: string, added: boolean): Promise<ChangeResult> {
  if (!isOneEmoji(emoji)) return { ok: false, reason: 'BAD_EMOJI' }
  messageId = messageId.toLowerCase()
  const event: NewEvent = { kind: 'reaction', actorId: userId, target: messageId, data: { emoji, added } }
  if (!added) {
    const { row, appended } = await runChange(deps, roomId, messageId, userId, event, (tx) => ({
      allowedIf: tx`true`,
      writes: tx`
        changed as (
          delete from chat.reactions
          where message_id = ${messageId} and user_id = ${userId} and emoji = ${emoji} and exists (select from allowed)
          returning 1
        )`,
    }))
    const refusal = accessRefusal(row)
    if (refusal !== null) return refusal
    await publish(deps, appended)
    return { ok: true }
  }
  const max = deps.config.REACTIONS_MAX_PER_MESSAGE
  const { row, appended } = await runChange<{ full: boolean }, readonly []>(deps, roomId, messageId, userId, event, (tx) => ({
    allowedIf: tx`true`,
    writes: tx`
      state as (
        select bool_or(user_id = ${userId} and emoji = ${emoji}) is true as mine, bool_or(emoji = ${emoji}) is true as known,
          count(distinct emoji)::int as distinct
        from chat.reactions where message_id = ${messageId}
      ),
      changed as (
        insert into chat.reactions (message_id, user_id, emoji)
        select ${messageId}::uuid, ${userId}::uuid, ${emoji}::text from state s
        where exists (select from allowed) and not s.mine and (s.known or s.distinct < ${max})
        returning 1
      )`,
    columns: tx`, (select not s.mine and not s.known and s.distinct >= ${max} from state s) as full`,
  }))
  const refusal = accessRefusal(row)
  if (refusal !== null) return refusal
  if (row!.full) return { ok: false, reason: 'TOO_MANY_REACTIONS' }
  await publish(deps, appended)
  return { ok: true }
}
