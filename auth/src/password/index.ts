import { Elysia, t } from 'elysia'
import { errorResponses, failureAnswers } from '@chat/common/errors'
import { Password, PASSWORD_MAX_LENGTH } from '@chat/common/passwords'
import { authGuard } from '@chat/common/tokens'
import type { AuthDeps } from '../deps'
import { changePassword } from './service'

const ChangePasswordBody = t.Object(
  { currentPassword: t.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH }), newPassword: Password },
  { additionalProperties: false, examples: [{ currentPassword: 'correct horse battery staple', newPassword: 'a longer passphrase of my own' }] },
)

const fail = failureAnswers({
  INVALID_PASSWORD: { code: 'INVALID_PASSWORD', message: 'The current password is wrong' },
  WEAK_PASSWORD: { code: 'WEAK_PASSWORD', message: 'The new password is too weak', field: 'newPassword' },
})

export function passwordController(deps: AuthDeps) {
  return new Elysia({ name: 'password-controller', prefix: '/auth' }).use(authGuard(deps.verifier)).put(
    '/password',
    async ({ auth, body, set }) => {
      const result = await changePassword(deps, auth.userId, auth.sessionId, body.currentPassword, body.newPassword)
      if (result.ok) {
        set.status = 204
        return
      }
      return result.reason === 'WEAK_PASSWORD' ? fail(result.reason, { detail: result.why }) : fail(result.reason)
    },
    {
      auth: true,
      body: ChangePasswordBody,
      response: { 204: t.Void(), ...errorResponses },
      detail: { summary: 'Change the password; every other session is revoked', tags: ['Sessions'] },
    },
  )
}
