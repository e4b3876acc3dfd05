import { describe, expect, test } from 'bun:test'
import { MULTILINE_TEXT_PATTERN, NAME_PATTERN, PLAIN_TEXT_PATTERN } from './schemas'

/**
 * The text patterns against a plain statement of their rule, over many short strings made of
 * the characters at the edges of each forbidden range; and their cost on a megabyte.
 */

const isControl = (unit: number) => unit <= 0x1f || (unit >= 0x7f && unit <= 0x9f)
const isLineBreak = (unit: number) => unit === 0x09 || unit === 0x0a || unit === 0x0d
const isBidi = (unit: number) => (unit >= 0x202a && unit <= 0x202e) || (unit >= 0x2066 && unit <= 0x2069)
const units = (text: string) => Array.from({ length: text.length }, (_, i) => text.charCodeAt(i))
const RULES = {
  plain: (text: string) => text.isWellFormed() && !units(text).some((unit) => isControl(unit) || isBidi(unit)),
  name: (text: string) => RULES.plain(text) && /\S/.test(text),
  multiline: (text: string) => text.isWellFormed() && !units(text).some((unit) => (isControl(unit) && !isLineBreak(unit)) || isBidi(unit)),
}
const PATTERNS = { plain: PLAIN_TEXT_PATTERN, name: NAME_PATTERN, multiline: MULTILINE_TEXT_PATTERN }
const EDGES = ['a', ' ', 'é', '\u00A0', '\t', '\n', '\r', '\u0000', '\u0008', '\u000B', '\u001F', '\u007F', '\u009F', '\u202A', '\u202E', '\u2065', '\u2066', '\u2069', '\u206A', '\uD800', '\uDBFF', '\uDC00', '\uDFFF', '\uD83D', '\uDE00']

/** A fixed sequence, so a failure is repeatable. */
function* shortStrings(count: number): Generator<string> {
  let seed = 1
  const next = () => (seed = (seed * 48271) % 2147483647)
  for (let i = 0; i < count; i++) yield Array.from({ length: next() % 7 }, () => EDGES[next() % EDGES.length]).join('')
}

describe('text patterns', () => {
  test.each(Object.keys(PATTERNS) as (keyof typeof PATTERNS)[])('%s accepts exactly what its rule allows', (name) => {
    const pattern = new RegExp(PATTERNS[name])
    const disagreements = [...shortStrings(50_000)].filter((text) => pattern.test(text) !== RULES[name](text))
    expect(disagreements.slice(0, 5).map((text) => JSON.stringify(text))).toEqual([])
  })

  test('emoji pass, a lone surrogate at either end does not', () => {
    const pattern = new RegExp(PLAIN_TEXT_PATTERN)
    expect(pattern.test('hi 👋🏽')).toBe(true)
    expect(['\uD83D', '\uDE00', 'a\uD83D', '\uDE00a'].map((text) => pattern.test(text))).toEqual([false, false, false, false])
  })

  // The former "every character is good" form took about a second on a megabyte.
  test.each(Object.keys(PATTERNS) as (keyof typeof PATTERNS)[])('%s judges a megabyte, good or bad at its end, in well under 100 ms', (name) => {
    const pattern = new RegExp(PATTERNS[name])
    for (const text of ['a'.repeat(1_000_000), `${'a'.repeat(1_000_000)}\u0000`, `${'a'.repeat(1_000_000)}\uD800`]) {
      const started = performance.now()
      pattern.test(text)
      expect(performance.now() - started).toBeLessThan(100)
    }
  })
})
