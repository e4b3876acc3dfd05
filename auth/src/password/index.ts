import { Elysia, t } from 'elysia'
import { AppError, errorResponses } from '@chat/common/errors'
import { Password, PASSWORD_MAX_LENGTH } from '@chat/common/passwords'
import { authGuard } from '@chat/common/tokens'
import type { AuthDeps } from '../deps'
import { changePassword } from './service'

const ChangePasswordBody = t.Object(
  { currentPassword: t.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH }), newPassword: Password },
  { additionalProperties: false, examples: [{ currentPassword: 'correct horse battery staple', newPassword: 'a longer passphrase of my own' }] },
)

export function passwordController(deps: AuthDeps) {
  return new Elysia({ name: 'password-controller', prefix: '/auth' }).use(authGuard(deps.verifier)).put(
    '/password',
    async ({ auth, body, set }) => {
      const result = await changePassword(deps, auth.userId, auth.sessionId, body.currentPassword, body.newPassword)
      if (result.ok) {
        set.status = 204
        return
      }
      if (result.reason === 'INVALID_PASSWORD') throw new AppError('INVALID_PASSWORD', 'The current password is wrong')
      throw new AppError('WEAK_PASSWORD', `The new password ${result.why}`, {
        details: [{ field: 'newPassword', message: result.why }],
      })
    },
    {
      auth: true,
      body: ChangePasswordBody,
      response: { 204: t.Void(), ...errorResponses },
      detail: { summary: 'Change the password; every other session is revoked', tags: ['Sessions'] },
    },
  )
}
