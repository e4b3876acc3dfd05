import { t } from 'elysia'

/**
 * A token from a mailed link. Any string up to this length is taken, so a mangled one
 * (cut short, wrong characters) is answered INVALID_TOKEN like every other that opens nothing.
 */
export const MailedToken = t.String({ minLength: 1, maxLength: 256, description: 'The `token` query parameter of the link in the mail' })

export const VerifyEmailBody = t.Object({ token: MailedToken }, { additionalProperties: false, examples: [{ token: 'q3Jx0d2Vd9F1hWJ7bq4b0Vt3mZK9vJ5oQf0sQ2xWc8E' }] })
export type VerifyEmailBody = typeof VerifyEmailBody.static
