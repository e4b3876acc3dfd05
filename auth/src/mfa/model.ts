import { PASSWORD_MAX_LENGTH } from '@chat/common/passwords'
import { t } from 'elysia'
import { ANY_CODE_PATTERN, TOTP_CODE_PATTERN } from './totp'

export const MfaStatus = t.Object({ totp: t.Boolean({ description: 'Whether TOTP two-factor is on for the caller' }) }, { title: 'MfaStatus' })
export type MfaStatus = typeof MfaStatus.static

export const TotpEnrolment = t.Object(
  {
    secret: t.String({ description: 'Base32 TOTP secret, for typing into an authenticator app', examples: ['JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'] }),
    otpauthUrl: t.String({ description: '`otpauth://totp/…` URL (SHA-1, 6 digits, 30 s), usually shown as a QR code' }),
  },
  { title: 'TotpEnrolment' },
)

export const RecoveryCodes = t.Object(
  { recoveryCodes: t.Array(t.String({ examples: ['k7fqm-2xzpa'] }), { minItems: 10, maxItems: 10, description: 'Each works once in place of a TOTP code; shown only now' }) },
  { title: 'RecoveryCodes' },
)

const TotpCode = t.String({ pattern: TOTP_CODE_PATTERN, description: 'The 6-digit code the authenticator app shows', examples: ['123456'] })
const AnyCode = t.String({ pattern: ANY_CODE_PATTERN, description: 'A 6-digit TOTP code, or a recovery code (`xxxxx-xxxxx`)', examples: ['123456'] })

export const ConfirmTotpBody = t.Object({ code: TotpCode }, { additionalProperties: false })
/**
 * Enrolment asks for the password: with only a (possibly stolen) access token, turning
 * two-factor on would revoke the owner's other sessions and lock them out behind the thief's
 * authenticator.
 */
export const StartTotpBody = t.Object(
  { currentPassword: t.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH, description: 'The account password, checked as for a password change' }) },
  { additionalProperties: false },
)
export const DisableTotpBody = t.Object({ code: AnyCode }, { additionalProperties: false })
export const VerifyMfaBody = t.Object(
  { mfaToken: t.String({ minLength: 1, maxLength: 512, description: 'From the login answer' }), code: AnyCode },
  { additionalProperties: false },
)

/** What login answers, instead of tokens, for a user with two-factor on. */
export const MfaChallenge = t.Object(
  {
    mfaRequired: t.Literal(true),
    mfaToken: t.String({ description: 'Opaque; send it to POST /auth/mfa/verify with a code' }),
    expiresIn: t.Integer({ description: 'Seconds the mfaToken stays valid', examples: [300] }),
  },
  { title: 'MfaChallenge' },
)
export type MfaChallenge = typeof MfaChallenge.static
