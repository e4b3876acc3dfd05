import { Elysia, t } from 'elysia'
import { failureAnswers } from '@chat/common/errors'
import { internalGuard } from '@chat/common/internal'
import { Password, PASSWORD_MAX_LENGTH } from '@chat/common/passwords'
import { Email, Username, Uuid } from '@chat/common/schemas'
import type { AuthDeps } from '../deps'
import { createReauthLimiter } from '../password/reauthentication'
import { createCredential, deleteCredential, updateIdentity, verifyPassword } from './service'

const UserIdParams = t.Object({ userId: Uuid })

const fail = failureAnswers({
  USERNAME_TAKEN: { code: 'USERNAME_TAKEN', message: 'That username is taken' },
  EMAIL_TAKEN: { code: 'EMAIL_TAKEN', message: 'That email is already registered' },
  CONFLICT: { code: 'CONFLICT', message: 'Conflicting credential' },
  NOT_FOUND: { code: 'NOT_FOUND', message: 'No credential for that user' },
})

/**
 * Service-to-service routes the user service calls; Caddy never routes `/internal/*`, and
 * each call must carry the shared internal token.
 */
export function credentialsController(deps: AuthDeps) {
  const reauthLimiter = createReauthLimiter(deps)
  return new Elysia({ name: 'credentials-controller', prefix: '/internal/credentials' })
    .use(internalGuard(deps.internalToken))
    .post(
      '/',
      async ({ body, set }) => {
        const result = await createCredential(deps, body.userId, body, body.password)
        if (!result.ok) fail(result.reason)
        set.status = 201
        return { userId: body.userId }
      },
      { body: t.Object({ userId: Uuid, username: Username, email: Email, password: Password }) },
    )
    .patch(
      '/:userId',
      async ({ params, body, set }) => {
        const result = await updateIdentity(deps, params.userId, body)
        if (!result.ok) fail(result.reason)
        set.status = 204
      },
      { params: UserIdParams, body: t.Object({ username: t.Optional(Username), email: t.Optional(Email) }) },
    )
    // Answers the outcome itself (`ReauthResult`), Retry-After included, for the user service to map.
    .post('/:userId/verify', ({ params, body }) => verifyPassword(deps, reauthLimiter, params.userId, body.password), {
      params: UserIdParams,
      body: t.Object({ password: t.String({ maxLength: PASSWORD_MAX_LENGTH }) }),
    })
    .delete(
      '/:userId',
      async ({ params, set }) => {
        await deleteCredential(deps, params.userId)
        set.status = 204
      },
      { params: UserIdParams },
    )
}
