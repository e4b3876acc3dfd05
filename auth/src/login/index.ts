import { Elysia, t } from 'elysia'
import { errorResponses, failureAnswers } from '@chat/common/errors'
import { requestContext } from '@chat/common/http'
import type { AuthDeps } from '../deps'
import { MfaChallenge } from '../mfa/model'
import { TokenPair } from '../sessions/model'
import { LoginBody } from './model'
import { createLoginLimiters, login } from './service'

const fail = failureAnswers({
  TOO_MANY_ATTEMPTS: { code: 'TOO_MANY_ATTEMPTS', message: 'Too many logins; try again later' },
  INVALID_CREDENTIALS: { code: 'INVALID_CREDENTIALS', message: 'Wrong login or password' },
})

export function loginController(deps: AuthDeps) {
  const limiters = createLoginLimiters(deps)
  return new Elysia({ name: 'login-controller', prefix: '/auth' })
    .use(requestContext)
    .post(
    '/login',
    async ({ body, headers, clientIp }) => {
      const result = await login(deps, limiters, body, { ip: clientIp, userAgent: headers['user-agent'] ?? null })
      if (result.ok) return 'pair' in result ? result.pair : result.challenge
      return result.reason === 'TOO_MANY_ATTEMPTS' ? fail(result.reason, { retryAfterSeconds: result.retryAfterSeconds }) : fail(result.reason)
    },
    {
      body: LoginBody,
      response: { 200: t.Union([TokenPair, MfaChallenge]), ...errorResponses },
      detail: {
        summary: 'Log in with username or email',
        tags: ['Sessions'],
        description:
          'Opens a session. For a user with two-factor on it answers `{mfaRequired: true, mfaToken, expiresIn}` and no tokens: POST /auth/mfa/verify with a code finishes the login. 401 INVALID_CREDENTIALS is the same for an unknown login and a wrong password. 10 failures for one login (a username or an email, each counted apart) from one IP, or 100 from one IP, within 15 minutes, or more than 120 logins of any outcome from one IP within a minute, answer 429 TOO_MANY_ATTEMPTS with Retry-After.',
      },
    },
  )
}
