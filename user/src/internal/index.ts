import { Elysia } from 'elysia'
import { failureAnswers } from '@chat/common/errors'
import { internalGuard } from '@chat/common/internal'
import type { UserDeps } from '../deps'
import { EmailVerifiedBody, UserIdParams } from '../users/model'
import { getUser, markEmailVerified } from '../users/service'

const fail = failureAnswers({
  NOT_FOUND: { code: 'NOT_FOUND', message: 'No such user' },
  STALE: { code: 'NOT_FOUND', message: 'No such user with that email' },
})

/**
 * Service-to-service routes (the chat service checks an account exists before adding it
 * to a room; auth reports a verified email); Caddy never routes `/internal/*`, and each call must carry the internal token.
 */
export function internalUsersController(deps: UserDeps) {
  return new Elysia({ name: 'internal-users-controller', prefix: '/internal/users' })
    .use(internalGuard(deps.internalToken))
    .get(
      '/:id',
      async ({ params, set }) => {
        if ((await getUser(deps, params.id)) === null) fail('NOT_FOUND')
        set.status = 204
      },
      { params: UserIdParams },
    )
    // The auth service, after a verification link was used (it owns verification, we show it).
    .put(
      '/:id/email-verified',
      async ({ params, body, set }) => {
        if (!(await markEmailVerified(deps, params.id, body.email))) fail('STALE')
        set.status = 204
      },
      { params: UserIdParams, body: EmailVerifiedBody },
    )
}
