import { Elysia, t } from 'elysia'
import { errorResponses, failureAnswers } from '@chat/common/errors'
import { requestContext } from '@chat/common/http'
import { authGuard } from '@chat/common/tokens'
import type { AuthDeps } from '../deps'
import { createReauthLimiter } from '../password/reauthentication'
import { TokenPair } from '../sessions/model'
import { verifyPassword } from '../credentials/service'
import { ConfirmTotpBody, DisableTotpBody, MfaStatus, RecoveryCodes, StartTotpBody, TotpEnrolment, VerifyMfaBody } from './model'
import { confirmTotpEnrolment, createMfaIpLimiter, createWrongCodeCounter, disableTotp, isTotpEnabled, startTotpEnrolment, verifyMfaChallenge } from './service'

const fail = failureAnswers({
  INVALID_CODE: { code: 'INVALID_CODE', message: 'The code is wrong or was already used' },
  INVALID_TOKEN: { code: 'INVALID_TOKEN', message: 'The mfaToken is invalid, expired or spent; log in again' },
  TOO_MANY_ATTEMPTS: { code: 'TOO_MANY_ATTEMPTS', message: 'Too many wrong codes or password attempts for this account; try again later' },
  ALREADY_ENABLED: { code: 'CONFLICT', message: 'Two-factor is already on; disable it first' },
  NOT_PENDING: { code: 'CONFLICT', message: 'No TOTP enrolment is pending; start one with POST /auth/mfa/totp' },
  NOT_ENABLED: { code: 'CONFLICT', message: 'Two-factor is not on' },
  NO_CREDENTIAL: { code: 'NOT_FOUND', message: 'No such account' },
  INVALID_PASSWORD: { code: 'INVALID_PASSWORD', message: 'The password is wrong' },
})

const LIMIT_NOTE =
  'A wrong code counts against the per-user re-authentication limit it shares with password confirmation: after 10 in 15 minutes this answers 429 TOO_MANY_ATTEMPTS with Retry-After.'

export function mfaController(deps: AuthDeps) {
  const reauth = createReauthLimiter(deps)
  // Wrong codes count with wrong passwords, per user (`reauth: reauth.failures`).
  const limiters = { reauth: reauth.failures, perIp: createMfaIpLimiter(deps), wrongCodes: createWrongCodeCounter(deps) }
  const failWith = (result: { reason: Parameters<typeof fail>[0]; retryAfterSeconds?: number }) => fail(result.reason, { retryAfterSeconds: result.retryAfterSeconds })
  return new Elysia({ name: 'mfa-controller', prefix: '/auth/mfa' })
    .use(requestContext)
    .use(authGuard(deps.verifier))
    .get('/', async ({ auth }) => ({ totp: await isTotpEnabled(deps, auth.userId) }), {
      auth: true,
      response: { 200: MfaStatus, ...errorResponses },
      detail: { summary: 'Which second factors the caller has on', tags: ['Two-factor'] },
    })
    .post(
      '/totp',
      async ({ auth, body }) => {
        const confirmed = await verifyPassword(deps, reauth, auth.userId, body.currentPassword)
        if (!confirmed.ok) return failWith(confirmed)
        const result = await startTotpEnrolment(deps, auth.userId)
        if (!result.ok) return fail(result.reason)
        return { secret: result.secret, otpauthUrl: result.otpauthUrl }
      },
      {
        auth: true,
        body: StartTotpBody,
        response: { 200: TotpEnrolment, ...errorResponses },
        detail: {
          summary: 'Start a TOTP enrolment',
          tags: ['Two-factor'],
          description:
            `Needs the account password (403 INVALID_PASSWORD when wrong; ${LIMIT_NOTE.replace('A wrong code', 'A wrong password')} More than 10 password checks of one user within a minute, right or wrong, answer 429 as well), so an access token alone cannot put the account behind someone else's authenticator. A fresh secret (RFC 6238: SHA-1, 6 digits, 30 s), stored encrypted. Nothing changes until POST /auth/mfa/totp/confirm; calling this again replaces a pending secret. 409 CONFLICT when two-factor is already on.`,
        },
      },
    )
    .post(
      '/totp/confirm',
      async ({ auth, body }) => {
        const result = await confirmTotpEnrolment(deps, limiters.reauth, auth.userId, auth.sessionId, body.code)
        if (!result.ok) return failWith(result)
        return { recoveryCodes: result.recoveryCodes }
      },
      {
        auth: true,
        body: ConfirmTotpBody,
        response: { 200: RecoveryCodes, ...errorResponses },
        detail: {
          summary: 'Confirm the enrolment with a code: two-factor is on',
          tags: ['Two-factor'],
          description: `Answers the 10 recovery codes, this once. Every other session of the caller is revoked, and the account's address is mailed that two-factor login was turned on. The confirming code counts as used. 401 INVALID_CODE for a wrong code, 409 CONFLICT with no enrolment pending. ${LIMIT_NOTE}`,
        },
      },
    )
    .delete(
      '/totp',
      async ({ auth, body, set }) => {
        const result = await disableTotp(deps, limiters.reauth, auth.userId, body.code)
        if (!result.ok) return failWith(result)
        set.status = 204
      },
      {
        auth: true,
        body: DisableTotpBody,
        response: { 204: t.Void(), ...errorResponses },
        detail: {
          summary: 'Turn two-factor off with a TOTP or recovery code',
          tags: ['Two-factor'],
          description: `The account's address is mailed that two-factor login was turned off. 401 INVALID_CODE for a wrong or used code, 409 CONFLICT when two-factor is off. ${LIMIT_NOTE}`,
        },
      },
    )
    .post(
      '/verify',
      async ({ body, headers, clientIp }) => {
        const result = await verifyMfaChallenge(deps, limiters, body.mfaToken, body.code, { ip: clientIp, userAgent: headers['user-agent'] ?? null })
        if (!result.ok) return failWith(result)
        return result.pair
      },
      {
        body: VerifyMfaBody,
        response: { 200: TokenPair, ...errorResponses },
        detail: {
          summary: 'Finish a login with the second factor',
          tags: ['Two-factor'],
          description: `Takes the mfaToken of a login that answered mfaRequired and a TOTP or recovery code; answers the usual token pair. A TOTP code works once (also across its 30 s window), a recovery code once ever. 401 INVALID_CODE for a wrong code; after 5 wrong codes, or once expired or used, the mfaToken answers 401 INVALID_TOKEN. The 5th wrong code of a user within an hour, whichever mfaTokens they came with, mails the account's owner that someone has the password (once per hour at most). ${LIMIT_NOTE} 100 wrong codes from one IP in 15 minutes lock that IP likewise.`,
        },
      },
    )
}
