import type { ZxcvbnFactory } from '@zxcvbn-ts/core'
import { t } from 'elysia'

/** Passwords are bounded so hashing cost is bounded; the lower bound follows NIST 800-63B. */
export const PASSWORD_MIN_LENGTH = 8
export const PASSWORD_MAX_LENGTH = 128

/**
 * zxcvbn's score from 0 (guessable within 10^3 tries) to 4 (beyond 10^10): 3 means more
 * than 10^8 guesses, which an offline attacker against argon2id cannot afford per account.
 */
export const PASSWORD_MIN_SCORE = 3

export const Password = t.String({
  minLength: PASSWORD_MIN_LENGTH,
  maxLength: PASSWORD_MAX_LENGTH,
  description: `Hard to guess (zxcvbn score ≥ ${PASSWORD_MIN_SCORE}; your username and email count against it)`,
})

let estimator: ZxcvbnFactory | null = null

/**
 * Loads zxcvbn and ranks its dictionaries (common passwords, names, English words,
 * keyboard layouts): about a second of CPU each for the import and the ranking, after
 * which a check takes milliseconds. Services await it once at start, after their
 * migrations (so instances racing for the migration lock are not held up by it) and
 * before they listen. Levenshtein matching stays off: it multiplies the cost of every
 * check for little gain.
 */
export async function loadPasswordDictionaries(): Promise<void> {
  if (estimator !== null) return
  const [{ ZxcvbnFactory }, common, english] = await Promise.all([
    import('@zxcvbn-ts/core'),
    import('@zxcvbn-ts/language-common'),
    import('@zxcvbn-ts/language-en'),
  ])
  estimator ??= new ZxcvbnFactory({
    translations: english.translations,
    graphs: common.adjacencyGraphs,
    dictionary: { ...common.dictionary, ...english.dictionary },
  })
}

/**
 * The words a password must not lean on: the username, the whole email and its mailbox
 * part (`ada.lovelace` also as `ada` and `lovelace`), matched by zxcvbn like dictionary words.
 */
export function identityWords(identity: { username?: string; email?: string }): string[] {
  const words = new Set<string>()
  if (identity.username) words.add(identity.username.toLowerCase())
  if (identity.email) {
    const email = identity.email.toLowerCase()
    words.add(email)
    const mailbox = email.split('@')[0]
    words.add(mailbox)
    for (const part of mailbox.split(/[^a-z0-9]+/)) if (part.length >= 3) words.add(part)
  }
  return [...words].filter((word) => word.length > 0)
}

/** Shorter identity words are left to zxcvbn alone: refusing every password containing `ab` would refuse too much. */
const IDENTITY_WORD_MIN_LENGTH = 3

/**
 * Why a password is too easy to guess, or null when it is acceptable. A password
 * containing the username or the email's mailbox is refused outright: it is an attacker's
 * first guess for that account, while zxcvbn's per-segment minimum lets `x<username>x`
 * score 3. Otherwise the reason is zxcvbn's (its warning, then its suggestions) when the
 * score is below PASSWORD_MIN_SCORE.
 */
export function findPasswordWeakness(password: string, identity: { username?: string; email?: string } = {}): string | null {
  const lower = password.toLowerCase()
  const username = identity.username?.toLowerCase()
  if (username && username.length >= IDENTITY_WORD_MIN_LENGTH && lower.includes(username)) return 'contains the username'
  const mailbox = identity.email?.split('@')[0]?.toLowerCase()
  if (mailbox && mailbox.length >= IDENTITY_WORD_MIN_LENGTH && lower.includes(mailbox)) return 'contains the email address'
  if (estimator === null) throw new Error('loadPasswordDictionaries() must have finished before a password is checked')
  const result = estimator.check(password, identityWords(identity))
  if (result.score >= PASSWORD_MIN_SCORE) return null
  const reasons = [result.feedback.warning, ...result.feedback.suggestions].filter((text): text is string => typeof text === 'string' && text !== '')
  return reasons.length === 0 ? 'is too easy to guess' : `is too easy to guess: ${reasons.join(' ')}`
}
