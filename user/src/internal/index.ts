import { Elysia } from 'elysia'
import { AppError } from '@chat/common/errors'
import { internalGuard } from '@chat/common/internal'
import type { UserDeps } from '../deps'
import { UserIdParams } from '../users/model'
import { getUser } from '../users/service'

/**
 * Service-to-service routes (the chat service checks an account exists before adding it
 * to a room); Caddy never routes `/internal/*`, and each call must carry the internal token.
 */
export function internalUsersController(deps: UserDeps) {
  return new Elysia({ name: 'internal-users-controller', prefix: '/internal/users' })
    .use(internalGuard(deps.internalToken))
    .get(
      '/:id',
      async ({ params, set }) => {
        if ((await getUser(deps, params.id)) === null) throw new AppError('NOT_FOUND', 'No such user')
        set.status = 204
      },
      { params: UserIdParams },
    )
}
