import { t } from 'elysia'
import { PLAIN_TEXT_PATTERN } from './schemas'

/**
 * A `limit` query parameter. It is a digit string rather than a number because Elysia
 * reports a coerced query number that fails its bounds without its path, so the error
 * could not name `limit`; 0, -1, 1.5 and Infinity are all refused by the pattern.
 */
export function PageLimit(description: string) {
  return t.Optional(t.String({ pattern: '^[1-9][0-9]{0,8}$', description }))
}

/** The page size a `PageLimit` asks for: the default when absent, never above `max`. */
export function clampLimit(raw: string | undefined, defaultValue: number, max: number): number {
  return Math.min(raw === undefined ? defaultValue : Number(raw), max)
}

/** Longer than any sort key we page by (lower-cased names of at most 100 characters). */
const CURSOR_KEY_MAX_LENGTH = 256
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const PLAIN_TEXT = new RegExp(PLAIN_TEXT_PATTERN)

/** A keyset position (sort key, id) as an opaque URL-safe string. */
export function encodeCursor(position: [string, string]): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url')
}

/**
 * undefined for a cursor we did not make. The key goes into SQL, so it must be text
 * Postgres can store (no NUL) and short, like the keys we hand out.
 */
export function decodeCursor(cursor: string): [string, string] | undefined {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString())
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      value[0].length <= CURSOR_KEY_MAX_LENGTH &&
      PLAIN_TEXT.test(value[0]) &&
      typeof value[1] === 'string' &&
      UUID.test(value[1])
    ) {
      return [value[0], value[1]]
    }
  } catch {}
  return undefined
}

/** Makes user text match itself literally in a LIKE pattern (used with Postgres' default `\` escape). */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => '\\' + c)
}
