import { Elysia, t } from 'elysia'
import { failureAnswers } from '@chat/common/errors'
import { internalGuard } from '@chat/common/internal'
import { Password, PASSWORD_MAX_LENGTH } from '@chat/common/passwords'
import { Email, Username } from '@chat/common/schemas'
import type { AuthDeps } from '../deps'
import { createCredential, deleteCredential, updateIdentity, verifyPassword } from './service'

const UserIdParams = t.Object({ userId: t.String({ format: 'uuid' }) })

const fail = failureAnswers({
  USERNAME_TAKEN: { code: 'USERNAME_TAKEN', message: 'That username is taken' },
  EMAIL_TAKEN: { code: 'EMAIL_TAKEN', message: 'That email is already registered' },
  CONFLICT: { code: 'CONFLICT', message: 'Conflicting credential' },
  NOT_FOUND: { code: 'NOT_FOUND', message: 'No credential for that user' },
  INVALID_PASSWORD: { code: 'INVALID_PASSWORD', message: 'Wrong password' },
})

/**
 * Service-to-service routes the user service calls; Caddy never routes `/internal/*`, and
 * each call must carry the shared internal token.
 */
export function credentialsController(deps: AuthDeps) {
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
      { body: t.Object({ userId: t.String({ format: 'uuid' }), username: Username, email: Email, password: Password }) },
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
    .post(
      '/:userId/verify',
      async ({ params, body, set }) => {
        if (!(await verifyPassword(deps, params.userId, body.password))) fail('INVALID_PASSWORD')
        set.status = 204
      },
      { params: UserIdParams, body: t.Object({ password: t.String({ maxLength: PASSWORD_MAX_LENGTH }) }) },
    )
    .delete(
      '/:userId',
      async ({ params, set }) => {
        await deleteCredential(deps, params.userId)
        set.status = 204
      },
      { params: UserIdParams },
    )
}
