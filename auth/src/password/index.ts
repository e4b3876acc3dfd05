import { Elysia, t } from 'elysia'
import { errorResponses, failureAnswers } from '@chat/common/errors'
import { Password, PASSWORD_MAX_LENGTH } from '@chat/common/passwords'
import { authGuard } from '@chat/common/tokens'
import type { AuthDeps } from '../deps'
import { createReauthLimiter, REAUTH_FAILURES } from './reauthentication'
import { changePassword } from './service'

const ChangePasswordBody = t.Object(
  { currentPassword: t.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH }), newPassword: Password },
  { additionalProperties: false, examples: [{ currentPassword: 'correct horse battery staple', newPassword: 'a longer passphrase of my own' }] },
)

const fail = failureAnswers({
  INVALID_PASSWORD: { code: 'INVALID_PASSWORD', message: 'The current password is wrong' },
  WEAK_PASSWORD: { code: 'WEAK_PASSWORD', message: 'The new password is too weak', field: 'newPassword' },
  ...REAUTH_FAILURES,
})

export function passwordController(deps: AuthDeps) {
  const limiter = createReauthLimiter(deps)
  return new Elysia({ name: 'password-controller', prefix: '/auth' }).use(authGuard(deps.verifier)).put(
    '/password',
    async ({ auth, body, set }) => {
      const result = await changePassword(deps, limiter, auth.userId, auth.sessionId, body.currentPassword, body.newPassword)
      if (result.ok) {
        set.status = 204
        return
      }
      if (result.reason === 'TOO_MANY_ATTEMPTS') return fail(result.reason, { retryAfterSeconds: result.retryAfterSeconds })
      return result.reason === 'WEAK_PASSWORD' ? fail(result.reason, { detail: result.why }) : fail(result.reason)
    },
    {
      auth: true,
      body: ChangePasswordBody,
      response: { 204: t.Void(), ...errorResponses },
      detail: {
        summary: 'Change the password; every other session is revoked',
        tags: ['Sessions'],
        description: 'After 10 wrong current passwords for one user within 15 minutes this answers 429 TOO_MANY_ATTEMPTS with Retry-After, even for the right one; so does an 11th password check of any outcome within a minute.',
      },
    },
  )
}
