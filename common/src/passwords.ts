import { t } from 'elysia'

/** Passwords are bounded so hashing cost is bounded; the lower bound follows NIST 800-63B. */
export const PASSWORD_MIN_LENGTH = 8
export const PASSWORD_MAX_LENGTH = 128

export const Password = t.String({
  minLength: PASSWORD_MIN_LENGTH,
  maxLength: PASSWORD_MAX_LENGTH,
  description: `${PASSWORD_MIN_LENGTH}–${PASSWORD_MAX_LENGTH} characters, not a common password, not your username or email`,
})

/** A few of the most used passwords; a breach-corpus check would be the next step. */
const COMMON_PASSWORDS = new Set([
  'password', 'password1', 'password123', '12345678', '123456789', '1234567890', 'qwertyuiop', 'qwerty123',
  '11111111', '00000000', 'iloveyou', 'abc12345', 'abcd1234', 'letmein1', 'welcome1', 'admin123', 'passw0rd',
  '1q2w3e4r', 'sunshine', 'princess', 'football', 'baseball', 'superman', 'trustno1', 'whatever',
])

/** Why a password is weak, or null when it is acceptable. */
export function findPasswordWeakness(password: string, identity: { username?: string; email?: string } = {}): string | null {
  const lower = password.toLowerCase()
  if (COMMON_PASSWORDS.has(lower)) return 'is one of the most common passwords'
  // `u`: an emoji is one character, not two UTF-16 units.
  if (/^(.)\1*$/u.test(password)) return 'repeats a single character'
  if (identity.username && lower.includes(identity.username.toLowerCase())) return 'contains the username'
  const mailbox = identity.email?.split('@')[0]?.toLowerCase()
  if (mailbox && mailbox.length >= 3 && lower.includes(mailbox)) return 'contains the email address'
  return null
}
