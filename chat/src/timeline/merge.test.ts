import { describe, expect, test } from 'bun:test'
import { mergeBySeq } from './merge'

const items = (kind: string, seqs: number[]) => seqs.map((seq) => ({ kind, seq }))

describe('merging messages and events by seq', () => {
  test('interleaves two ascending lists into one ascending list', () => {
    const merged = mergeBySeq(items('m', [1, 4, 5]), items('e', [2, 3, 6]), 10)
    expect(merged.map((x) => `${x.kind}${x.seq}`)).toEqual(['m1', 'e2', 'e3', 'm4', 'm5', 'e6'])
  })

  test('stops at the limit, so the result is a gapless prefix when each list was read up to the limit', () => {
    expect(mergeBySeq(items('m', [1, 2, 3]), items('e', [4, 5, 6]), 4).map((x) => x.seq)).toEqual([1, 2, 3, 4])
    expect(mergeBySeq(items('m', [5, 6]), items('e', [1, 2]), 3).map((x) => x.seq)).toEqual([1, 2, 5])
  })

  test('either list may be empty', () => {
    expect(mergeBySeq([], items('e', [7, 8]), 5).map((x) => x.seq)).toEqual([7, 8])
    expect(mergeBySeq(items('m', [3]), [], 5).map((x) => x.seq)).toEqual([3])
    expect(mergeBySeq([], [], 5)).toEqual([])
  })
})
