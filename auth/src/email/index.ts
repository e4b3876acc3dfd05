import { Elysia, t } from 'elysia'
import { errorResponses, failureAnswers } from '@chat/common/errors'
import { requestContext } from '@chat/common/http'
import { authGuard } from '@chat/common/tokens'
import type { AuthDeps } from '../deps'
import { VerifyEmailBody } from './model'
import { createTokenFailureLimiter, TOKENS_LIMITED, useTokenLimited } from '../mail/tokens'
import { createResendLimiter, resendVerification, verifyEmail } from './service'

const fail = failureAnswers({
  INVALID_TOKEN: { code: 'INVALID_TOKEN', message: 'This link is invalid, expired or already used', status: 400 },
  UNAVAILABLE: { code: 'DEPENDENCY_DOWN', message: 'The user service is unavailable; the link still works, try again shortly' },
  RATE_LIMITED: { code: 'RATE_LIMITED', message: 'Too many verification mails asked for; try again later' },
  TOKENS_LIMITED,
})

export function emailController(deps: AuthDeps) {
  const resendLimiter = createResendLimiter(deps)
  const tokenLimiter = createTokenFailureLimiter(deps)
  return new Elysia({ name: 'email-controller', prefix: '/auth/email' })
    .use(requestContext)
    .use(authGuard(deps.verifier))
    .post(
      '/verify',
      async ({ body, set, requestId, clientIp }) => {
        const result = await useTokenLimited(tokenLimiter, clientIp, () => verifyEmail(deps, body.token, requestId))
        if (result.ok) return void (set.status = 204)
        return result.reason === 'RATE_LIMITED' ? fail('TOKENS_LIMITED', { retryAfterSeconds: result.retryAfterSeconds }) : fail(result.reason)
      },
      {
        body: VerifyEmailBody,
        response: { 204: t.Void(), ...errorResponses },
        detail: {
          summary: 'Confirm an email address with the token from the verification mail',
          tags: ['Email'],
          description:
            'The token is the `token` of the link in the mail (`/verify-email?token=…`), sent at registration and after every email change. It works once, for 24 hours, and only while the account still has the address it was sent to; anything else answers 400 INVALID_TOKEN. Afterwards GET /users/me shows `emailVerified: true`. Invalid tokens from one client IP (30 per hour, counted with those of POST /auth/password/reset) then answer 429 RATE_LIMITED with Retry-After.',
        },
      },
    )
    .post(
      '/verify/resend',
      async ({ auth, set }) => {
        const result = await resendVerification(deps, resendLimiter, auth.userId)
        if (!result.ok) return fail(result.reason, { retryAfterSeconds: result.retryAfterSeconds })
        set.status = 202
      },
      {
        auth: true,
        response: { 202: t.Void(), ...errorResponses },
        detail: {
          summary: 'Send the verification mail again',
          tags: ['Email'],
          description:
            'Queues a new verification mail to the account’s current address (nothing when it is verified already); earlier links keep working until they expire. 5 per user per hour, then 429 RATE_LIMITED with Retry-After.',
        },
      },
    )
}
