import { Elysia, t } from 'elysia'
import { BAD_CURSOR, errorResponses, failureAnswers } from '@chat/common/errors'
import { authGuard } from '@chat/common/tokens'
import type { ChatDeps } from '../deps'
import { NOT_ALLOWED, ROOM_ACCESS_FAILURES } from '../rooms/failures'
import { RoomIdParams } from '../rooms/model'
import { BanBody, BanPage, Member, MemberPage, MemberPageQuery, MemberParams, SetRoleBody } from './model'
import { banUser, listBans, listMembers, removeMember, setRole, unbanUser } from './service'

const fail = failureAnswers({
  ...ROOM_ACCESS_FAILURES,
  NOT_ALLOWED,
  BAD_CURSOR,
  NO_SUCH_MEMBER: { code: 'NOT_FOUND', message: 'That user is not a member of this room' },
  OUTRANKED: { code: 'NOT_ALLOWED', message: 'You can act only on members below you: the owner on everyone else, an admin on plain members' },
  LAST_OWNER: { code: 'LAST_OWNER', message: 'The owner cannot demote themselves: hand the room over by giving another member the role "owner"' },
  REASON_TOO_LONG: { code: 'VALIDATION_FAILED', message: 'The reason is too long', field: 'reason' },
})

const NO_CONTENT = { 204: t.Void(), ...errorResponses }
const TAGS = ['Moderation']

/** Members and their roles, removal and bans: the owner and admins of a room, never in a DM. */
export function moderationController(deps: ChatDeps) {
  return new Elysia({ name: 'moderation-controller', prefix: '/chat' })
    .use(authGuard(deps.verifier))
    .get(
      '/rooms/:id/members',
      async ({ auth, params, query }) => {
        const result = await listMembers(deps, params.id, auth.userId, query)
        return result.ok ? result.page : fail(result.reason)
      },
      {
        auth: true,
        params: RoomIdParams,
        query: MemberPageQuery,
        response: { 200: MemberPage, ...errorResponses },
        detail: {
          summary: 'The room’s members with their roles',
          tags: TAGS,
          description:
            'Members only (403 for a public room, 404 for a private one). In the order they joined; pass `nextCursor` as `cursor` for the next page. Roles: one `owner` (none in direct-message rooms), any number of `admin`s, the rest `member`.',
        },
      },
    )
    .patch(
      '/rooms/:id/members/:userId',
      async ({ auth, params, body }) => {
        const result = await setRole(deps, params.id, auth.userId, params.userId, body.role)
        return result.ok ? result.member : fail(result.reason)
      },
      {
        auth: true,
        params: MemberParams,
        body: SetRoleBody,
        response: { 200: Member, ...errorResponses },
        detail: {
          summary: 'Change a member’s role (owner only)',
          tags: TAGS,
          description:
            '`admin` or `member`. `owner` hands the room over, as in Discord: the member becomes its one owner and the caller an admin. The owner cannot change their own role (409 `LAST_OWNER`): they hand over first. Each change is a `member` event `role` (with `role`) in the room’s stream; an unchanged role emits nothing. 403 `NOT_ALLOWED` for others; 404 when the user is not a member.',
        },
      },
    )
    .delete(
      '/rooms/:id/members/:userId',
      async ({ auth, params, set }) => {
        const result = await removeMember(deps, params.id, auth.userId, params.userId)
        if (!result.ok) fail(result.reason)
        set.status = 204
      },
      {
        auth: true,
        params: MemberParams,
        response: NO_CONTENT,
        detail: {
          summary: 'Remove a member (owner, or an admin removing a plain member)',
          tags: TAGS,
          description:
            'The member’s sockets get `left{room, reason:"removed"}` within a second on every instance, and a `member` event `removed` goes to the room’s stream. They may rejoin a public room; ban them to keep them out. 403 `NOT_ALLOWED` for removing the owner, an admin removing an admin, plain members and direct-message rooms; 404 when the user is not a member. To leave yourself, use `POST /chat/rooms/:id/leave`.',
        },
      },
    )
    .post(
      '/rooms/:id/bans',
      async ({ auth, params, body, set }) => {
        const result = await banUser(deps, params.id, auth.userId, body)
        if (!result.ok) fail(result.reason)
        set.status = 204
      },
      {
        auth: true,
        params: RoomIdParams,
        body: BanBody,
        response: NO_CONTENT,
        detail: {
          summary: 'Ban a user (owner or admin)',
          tags: TAGS,
          description:
            'A member is removed at once (their sockets get `left{room, reason:"banned"}`); a non-member may be banned beforehand. Until unbanned, joining, being added and accepting an invite answer 403 `BANNED`. A `member` event `banned` goes to the room’s stream; banning again changes nothing. The same ranks as removal apply (nobody bans the owner, admins ban only plain members and non-members).',
        },
      },
    )
    .get(
      '/rooms/:id/bans',
      async ({ auth, params, query }) => {
        const result = await listBans(deps, params.id, auth.userId, query)
        return result.ok ? result.page : fail(result.reason)
      },
      {
        auth: true,
        params: RoomIdParams,
        query: MemberPageQuery,
        response: { 200: BanPage, ...errorResponses },
        detail: {
          summary: 'The room’s bans (owner or admin)',
          tags: TAGS,
          description:
            'Newest first, with the reason given and who banned; pass `nextCursor` as `cursor` for the next page (`limit` as for members). 403 `NOT_ALLOWED` for plain members and direct-message rooms, 403 for a non-member of a public room, 404 for a private one.',
        },
      },
    )
    .delete(
      '/rooms/:id/bans/:userId',
      async ({ auth, params, set }) => {
        const result = await unbanUser(deps, params.id, auth.userId, params.userId)
        if (!result.ok) fail(result.reason)
        set.status = 204
      },
      {
        auth: true,
        params: MemberParams,
        response: NO_CONTENT,
        detail: {
          summary: 'Lift a ban (owner or admin)',
          tags: TAGS,
          description: 'Idempotent. The user may join, be added or accept an invite again (they are not made a member). A `member` event `unbanned` goes to the room’s stream when a ban was lifted.',
        },
      },
    )
}
