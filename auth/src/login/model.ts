import { t } from 'elysia'
import { PASSWORD_MAX_LENGTH } from '@chat/common/passwords'
import { PLAIN_TEXT_PATTERN } from '@chat/common/schemas'

export const LoginBody = t.Object(
  {
    login: t.String({ minLength: 1, maxLength: 254, pattern: PLAIN_TEXT_PATTERN, description: 'Username or email, case-insensitive', examples: ['ada'] }),
    password: t.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH, examples: ['correct horse battery staple'] }),
  },
  { additionalProperties: false },
)
export type LoginBody = typeof LoginBody.static
