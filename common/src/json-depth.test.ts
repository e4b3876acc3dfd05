import { describe, expect, test } from 'bun:test'
import { exceedsJsonDepth } from './json-depth'

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth)

describe('exceedsJsonDepth', () => {
  test('accepts nesting up to the limit and refuses one level more', () => {
    expect(exceedsJsonDepth(nested(32), 32)).toBe(false)
    expect(exceedsJsonDepth(nested(33), 32)).toBe(true)
  })

  test('counts objects and arrays alike', () => {
    expect(exceedsJsonDepth('{"a":[{"b":[1]}]}', 4)).toBe(false)
    expect(exceedsJsonDepth('{"a":[{"b":[1]}]}', 3)).toBe(true)
  })

  test('measures depth, not the number of containers side by side', () => {
    expect(exceedsJsonDepth(`[${Array.from({ length: 1000 }, () => '{}').join(',')}]`, 2)).toBe(false)
  })

  test('ignores brackets inside strings, including after escaped quotes', () => {
    expect(exceedsJsonDepth(JSON.stringify({ text: '[[[[{{{{', quoted: 'say \\"[[[[\\"' }), 1)).toBe(false)
    expect(exceedsJsonDepth(JSON.stringify(['\\', [[]]]), 2)).toBe(true)
  })
})
