import { Elysia } from 'elysia'
import { ErrorBody, errorResponses, failureAnswers } from '@chat/common/errors'
import { requestContext } from '@chat/common/http'
import { createRateLimiter } from '@chat/common/limits'
import { authGuard } from '@chat/common/tokens'
import type { ChatDeps } from '../deps'
import { NOT_ALLOWED, ROOM_ACCESS_FAILURES } from '../rooms/failures'
import { RoomIdParams, RoomWithMembers } from '../rooms/model'
import { CreateInviteBody, Invite, InviteCodeParams } from './model'
import { acceptInvite, createInvite } from './service'

const fail = failureAnswers({
  ...ROOM_ACCESS_FAILURES,
  NOT_ALLOWED,
  TOO_MANY_USES: { code: 'VALIDATION_FAILED', message: 'maxUses is above the limit (INVITE_MAX_USES)', field: 'maxUses' },
  TOO_LONG: { code: 'VALIDATION_FAILED', message: 'expiresInSeconds is above the limit (INVITE_MAX_TTL_SECONDS)', field: 'expiresInSeconds' },
  TOO_MANY_INVITES: { code: 'CONFLICT', message: 'This room has as many unexpired invites as it may have; wait for some to expire' },
})
const failAccept = failureAnswers({
  NOT_FOUND: { code: 'NOT_FOUND', message: 'No such invite' },
  INVITE_EXPIRED: { code: 'INVITE_EXPIRED', message: 'This invite has expired, has been used up or was withdrawn; ask for a new one' },
  BANNED: { code: 'BANNED', message: 'You are banned from this room' },
  RATE_LIMITED: { code: 'RATE_LIMITED', message: 'Too many invite attempts; try again later' },
})

const TAGS = ['Invites']

export function invitesController(deps: ChatDeps) {
  const limiterOptions = (scope: string, max: number) => ({
    prefix: `${deps.config.REDIS_PREFIX}chat:invite-accepts:${scope}:`,
    max,
    windowSeconds: deps.config.INVITE_ACCEPT_WINDOW_SECONDS,
  })
  const perUser = createRateLimiter(deps.redis, limiterOptions('user', deps.config.INVITE_ACCEPT_MAX_PER_USER))
  const perIp = createRateLimiter(deps.redis, limiterOptions('ip', deps.config.INVITE_ACCEPT_MAX_PER_IP))

  return new Elysia({ name: 'invites-controller', prefix: '/chat' })
    .use(requestContext)
    .use(authGuard(deps.verifier))
    .post(
      '/rooms/:id/invites',
      async ({ auth, params, body, set }) => {
        const result = await createInvite(deps, params.id, auth.userId, body)
        if (!result.ok) return fail(result.reason)
        set.status = 201
        return result.invite
      },
      {
        auth: true,
        params: RoomIdParams,
        body: CreateInviteBody,
        response: { 201: Invite, ...errorResponses },
        detail: {
          summary: 'Create an invite code (owner or admin)',
          tags: TAGS,
          description:
            'For private rooms above all (public ones can be joined anyway). The code is shown once: only its hash is stored. It expires after `expiresInSeconds` (default a day, at most a week) and, with `maxUses`, after that many accepts. 403 `NOT_ALLOWED` for plain members and in direct-message rooms; 409 when the room has INVITE_MAX_ACTIVE_PER_ROOM (100) unexpired invites.',
        },
      },
    )
    .post(
      '/invites/:code/accept',
      async ({ auth, params, clientIp }) => {
        for (const check of await Promise.all([perUser.take(auth.userId), perIp.take(clientIp)])) {
          if (!check.allowed) return failAccept('RATE_LIMITED', { retryAfterSeconds: check.retryAfterSeconds })
        }
        const result = await acceptInvite(deps, params.code, auth.userId)
        return result.ok ? result.room : failAccept(result.reason)
      },
      {
        auth: true,
        params: InviteCodeParams,
        response: { 200: RoomWithMembers, 410: ErrorBody, ...errorResponses },
        detail: {
          summary: 'Accept an invite',
          tags: TAGS,
          description:
            'The caller becomes a member of the invite’s room (already one: nothing changes and no use is spent) and the room is answered; a `member` event `joined` goes to its stream and `room_added` to every socket of the caller. 404 `NOT_FOUND` for an unknown code, 410 `INVITE_EXPIRED` for an expired or used-up one, or one whose creator is no longer an owner or admin of the room, 403 `BANNED` for a user banned from the room. Attempts are limited per user (INVITE_ACCEPT_MAX_PER_USER, 20) and per client IP (INVITE_ACCEPT_MAX_PER_IP, 100) per minute, whatever their outcome: 429 `RATE_LIMITED` with `Retry-After`.',
        },
      },
    )
}
