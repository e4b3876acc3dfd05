import { t } from 'elysia'

/** Shared pieces of the wire contract; feature-specific models live beside their feature. */

/**
 * A UUID in its plain 8-4-4-4-12 form. The `uuid` format alone (Elysia's) also takes a
 * `urn:uuid:` prefix, which Postgres refuses: a request would reach the database and fail
 * there, and in a batch of messages take the others down with it.
 */
export const UUID_PATTERN = '^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$'
export const Uuid = t.String({ format: 'uuid', pattern: UUID_PATTERN })

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

/** C0 and C1 controls: NUL would make Postgres fail, the others have no place in a name. */
const CONTROLS = '\\u0000-\\u001F\\u007F-\\u009F'
/** The same without tab, line feed and carriage return, for multi-line text. */
const CONTROLS_BUT_LINE_BREAKS = '\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F'
/** Bidirectional overrides and isolates make a name read differently from what it is. */
const BIDI_CONTROLS = '\\u202A-\\u202E\\u2066-\\u2069'
/** Half of a surrogate pair without its other half (postgres.js would store it as U+FFFD); emoji pass. */
const LONE_SURROGATE = '[\\uD800-\\uDBFF](?![\\uDC00-\\uDFFF])|(?<![\\uD800-\\uDBFF])[\\uDC00-\\uDFFF]'

/**
 * Text containing none of `forbidden` (a character class body) and no lone surrogate. Said
 * as "nowhere ahead is a bad character" rather than "every character is good": the latter,
 * a repeated alternation, backtracks once per character, and describing the error for a
 * megabyte-long field then held an instance for seconds; this form scans once. Written
 * with \u escapes because TypeBox compiles patterns without the `u` flag.
 */
const textWithout = (forbidden: string) => `^(?![\\s\\S]*(?:[${forbidden}]|${LONE_SURROGATE}))`

export const PLAIN_TEXT_PATTERN = textWithout(CONTROLS + BIDI_CONTROLS)
/** Plain text with at least one character that is not a space, since a name of only spaces would show as nothing. */
export const NAME_PATTERN = `${PLAIN_TEXT_PATTERN}(?=[\\s\\S]*\\S)`
/** The same as plain text, but line breaks and tabs are allowed (multi-line text such as a bio). */
export const MULTILINE_TEXT_PATTERN = textWithout(CONTROLS_BUT_LINE_BREAKS + BIDI_CONTROLS)
