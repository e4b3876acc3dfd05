import type { ChatDeps } from '../deps'
import { lockRoom, moderatorFailure, type AuthorityFailure } from '../rooms/authority'
import { announce, insertMembers, memberEvent, type Aftermath } from '../rooms/membership'
import type { RoomWithMembers } from '../rooms/model'
import { getRoom } from '../rooms/service'
import { appendEvents } from '../timeline/service'
import { generateInviteCode, hashInviteCode } from './code'
import type { CreateInviteBody, Invite } from './model'

export type CreateInviteResult = { ok: true; invite: Invite } | { ok: false; reason: AuthorityFailure | 'TOO_MANY_USES' | 'TOO_LONG' | 'TOO_MANY_INVITES' }

/**
 * An invite code for the room (owner or admin; DMs have none). Expired invites of the room
 * are swept in the same transaction, so the per-room cap counts live ones only.
 */
export async function createInvite(
  deps: Pick<ChatDeps, 'sql' | 'config'>,
  roomId: string,
  callerId: string,
  body: CreateInviteBody,
): Promise<CreateInviteResult> {
  const { config } = deps
  if (body.maxUses !== undefined && body.maxUses > config.INVITE_MAX_USES) return { ok: false, reason: 'TOO_MANY_USES' }
  const ttl = body.expiresInSeconds ?? config.INVITE_DEFAULT_TTL_SECONDS
  if (ttl > config.INVITE_MAX_TTL_SECONDS) return { ok: false, reason: 'TOO_LONG' }
  const code = generateInviteCode()
  return deps.sql.begin(async (tx): Promise<CreateInviteResult> => {
    const failure = moderatorFailure(await lockRoom(tx, roomId, callerId))
    if (failure !== null) return { ok: false, reason: failure }
    await tx`delete from chat.invites where room_id = ${roomId} and expires_at <= now()`
    const [live] = await tx<{ count: number }[]>`select count(*)::int as count from chat.invites where room_id = ${roomId}`
    if (live.count >= config.INVITE_MAX_ACTIVE_PER_ROOM) return { ok: false, reason: 'TOO_MANY_INVITES' }
    const [row] = await tx<{ expires_at: Date; max_uses: number | null }[]>`
      insert into chat.invites (code_hash, room_id, created_by, max_uses, expires_at)
      values (${hashInviteCode(code)}, ${roomId}, ${callerId}, ${body.maxUses ?? null}, now() + make_interval(secs => ${ttl}))
      returning expires_at, max_uses`
    return { ok: true, invite: { code, expiresAt: row.expires_at.toISOString(), maxUses: row.max_uses } }
  })
}

export type AcceptInviteResult = { ok: true; room: RoomWithMembers } | { ok: false; reason: 'NOT_FOUND' | 'INVITE_EXPIRED' | 'BANNED' }

/**
 * Makes the caller a member of the invite's room. The use is counted by the statement that
 * checks the limit (`uses < max_uses`), under the room's lock, so concurrent accepts never
 * exceed it; the creator's role is checked under the same lock. A banned user is refused before a use is spent; a member is answered the room
 * without spending one.
 */
export async function acceptInvite(deps: Pick<ChatDeps, 'sql' | 'realtime' | 'log'>, code: string, callerId: string): Promise<AcceptInviteResult> {
  const hash = hashInviteCode(code)
  const [invite] = await deps.sql<{ room_id: string }[]>`select room_id from chat.invites where code_hash = ${hash}`
  if (invite === undefined) return { ok: false, reason: 'NOT_FOUND' }
  const roomId = invite.room_id
  const outcome = await deps.sql.begin(async (tx): Promise<{ ok: true; aftermath?: Aftermath } | { ok: false; reason: 'NOT_FOUND' | 'INVITE_EXPIRED' | 'BANNED' }> => {
    // The room is locked before the invite row, in the order deleting the room takes them.
    const room = await lockRoom(tx, roomId, callerId)
    if (room === null) return { ok: false, reason: 'NOT_FOUND' }
    if (room.callerBanned) return { ok: false, reason: 'BANNED' }
    // Usable while unexpired, not used up, and its creator may still invite: an admin who
    // was demoted, removed or banned takes the codes they handed out with them.
    const [state] = await tx<{ usable: boolean }[]>`
      select i.expires_at > now() and (i.max_uses is null or i.uses < i.max_uses)
        and exists (select from chat.members m where m.room_id = i.room_id and m.user_id = i.created_by and m.role <> 'member') as usable
      from chat.invites i where i.code_hash = ${hash}`
    if (state === undefined) return { ok: false, reason: 'NOT_FOUND' }
    if (!state.usable) return { ok: false, reason: 'INVITE_EXPIRED' }
    if (room.callerRole !== null) return { ok: true }
    const spent = await tx`
      update chat.invites set uses = uses + 1
      where code_hash = ${hash} and expires_at > now() and (max_uses is null or uses < max_uses)
      returning 1`
    if (spent.length === 0) return { ok: false, reason: 'INVITE_EXPIRED' }
    const added = await insertMembers(tx, roomId, [callerId])
    return { ok: true, aftermath: { roomId, events: await appendEvents(tx, roomId, [memberEvent(callerId, callerId, 'joined')]), added } }
  })
  if (!outcome.ok) return outcome
  if (outcome.aftermath !== undefined) await announce(deps, outcome.aftermath)
  const room = await getRoom(deps, roomId, callerId)
  // Deleted, or the caller removed, in the instant since: the invite no longer leads anywhere.
  return room === null ? { ok: false, reason: 'NOT_FOUND' } : { ok: true, room }
}
