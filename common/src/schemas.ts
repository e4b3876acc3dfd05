import { t } from 'elysia'

/** Shared pieces of the wire contract; feature-specific models live beside their feature. */

export const Uuid = t.String({ format: 'uuid' })

/** ASCII only, so look-alike Unicode names cannot impersonate someone; unique regardless of case. */
export const Username = t.String({
  minLength: 3,
  maxLength: 32,
  pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]*[A-Za-z0-9_]$',
  description: '3–32 characters: letters, digits, `_`, `.`, `-`; unique regardless of case',
  examples: ['ada_lovelace'],
})

export const Email = t.String({
  format: 'email',
  maxLength: 254,
  description: 'Unique regardless of case',
  examples: ['ada@example.com'],
})

export const Timestamp = t.String({ format: 'date-time', description: 'ISO-8601 UTC' })

/**
 * No control characters (NUL would make Postgres fail), no bidirectional overrides (they
 * make a name read differently from what it is) and no unpaired UTF-16 surrogates
 * (postgres.js would store them as U+FFFD): a surrogate is accepted only as half of a
 * pair, so emoji pass. Written with \u escapes because TypeBox compiles patterns without
 * the `u` flag.
 */
const PLAIN_CHARACTER = '[^\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069\\uD800-\\uDFFF]|[\\uD800-\\uDBFF][\\uDC00-\\uDFFF]'
export const PLAIN_TEXT_PATTERN = `^(?:${PLAIN_CHARACTER})*$`
/** Plain text with at least one character that is not a space, since a name of only spaces would show as nothing. */
export const NAME_PATTERN = `^(?=[\\s\\S]*\\S)(?:${PLAIN_CHARACTER})*$`
/** The same as plain text, but line breaks and tabs are allowed (multi-line text such as a bio). */
export const MULTILINE_TEXT_PATTERN =
  '^(?:[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069\\uD800-\\uDFFF]|[\\uD800-\\uDBFF][\\uDC00-\\uDFFF])*$'
