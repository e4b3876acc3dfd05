import { Elysia, t } from 'elysia'
import { errorResponses, failureAnswers } from '@chat/common/errors'
import { requestContext } from '@chat/common/http'
import type { AuthDeps } from '../deps'
import { ForgotPasswordBody, ResetPasswordBody } from './model'
import { createTokenFailureLimiter, TOKENS_LIMITED, useTokenLimited } from '../mail/tokens'
import { createForgotLimiters, requestPasswordReset, resetPassword } from './service'

const fail = failureAnswers({
  INVALID_TOKEN: { code: 'INVALID_TOKEN', message: 'This link is invalid, expired or already used; ask for a new one', status: 400 },
  WEAK_PASSWORD: { code: 'WEAK_PASSWORD', message: 'The new password is too weak', field: 'newPassword' },
  RATE_LIMITED: { code: 'RATE_LIMITED', message: 'Too many reset requests from this address; try again later' },
  TOKENS_LIMITED,
})

/** The one body every accepted forgot answers, whether or not the address has an account. */
const FORGOT_ANSWER = { message: 'If an account has this address, a mail with a reset link is on its way' }
const ForgotAnswer = t.Object({ message: t.String() })

export function recoveryController(deps: AuthDeps) {
  const limiters = createForgotLimiters(deps)
  const tokenLimiter = createTokenFailureLimiter(deps)
  return new Elysia({ name: 'recovery-controller', prefix: '/auth/password' })
    .use(requestContext)
    .post(
      '/forgot',
      async ({ body, set, clientIp }) => {
        const result = await requestPasswordReset(deps, limiters, body.email, clientIp)
        if (!result.ok) return fail(result.reason, { retryAfterSeconds: result.retryAfterSeconds })
        set.status = 202
        return FORGOT_ANSWER
      },
      {
        body: ForgotPasswordBody,
        response: { 202: ForgotAnswer, ...errorResponses },
        detail: {
          summary: 'Ask for a password-reset mail',
          tags: ['Password reset'],
          description:
            'Always 202 with the same body, whether or not an account has the address, in similar time (the mail is queued, never sent inline). The link in the mail (`/reset-password?token=…`) works once, for 30 minutes. At most 3 mails per address per hour: further requests answer the same and send nothing. 20 requests per client IP per hour, then 429 RATE_LIMITED with Retry-After.',
        },
      },
    )
    .post(
      '/reset',
      async ({ body, set, clientIp }) => {
        const result = await useTokenLimited(tokenLimiter, clientIp, () => resetPassword(deps, body.token, body.newPassword))
        if (result.ok) return void (set.status = 204)
        if (result.reason === 'RATE_LIMITED') return fail('TOKENS_LIMITED', { retryAfterSeconds: result.retryAfterSeconds })
        return result.reason === 'WEAK_PASSWORD' ? fail(result.reason, { detail: result.why }) : fail(result.reason)
      },
      {
        body: ResetPasswordBody,
        response: { 204: t.Void(), ...errorResponses },
        detail: {
          summary: 'Set a new password with the token from a reset mail',
          tags: ['Password reset'],
          description:
            'Spends the token (and every other reset link of the account), stores the new password, revokes every session of the account (their sockets close) and mails "your password was changed". An unknown, tampered, expired or used token answers 400 INVALID_TOKEN and changes nothing; a weak password answers 422 WEAK_PASSWORD and leaves the token unspent. Invalid tokens from one client IP (30 per hour, counted with those of POST /auth/email/verify) then answer 429 RATE_LIMITED with Retry-After.',
        },
      },
    )
}
