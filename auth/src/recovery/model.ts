import { t } from 'elysia'
import { Password } from '@chat/common/passwords'
import { Email } from '@chat/common/schemas'
import { MailedToken } from '../email/model'

export const ForgotPasswordBody = t.Object({ email: Email }, { additionalProperties: false, examples: [{ email: 'ada@example.com' }] })
export type ForgotPasswordBody = typeof ForgotPasswordBody.static

export const ResetPasswordBody = t.Object(
  { token: MailedToken, newPassword: Password },
  { additionalProperties: false, examples: [{ token: 'q3Jx0d2Vd9F1hWJ7bq4b0Vt3mZK9vJ5oQf0sQ2xWc8E', newPassword: 'a longer passphrase of my own' }] },
)
export type ResetPasswordBody = typeof ResetPasswordBody.static
