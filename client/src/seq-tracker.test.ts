import { describe, expect, test } from 'bun:test'
import { createSeqTracker } from './seq-tracker'

describe('seq tracker', () => {
  test('a room knows nothing until a message or a starting point is seen', () => {
    const seqs = createSeqTracker()
    expect(seqs.last('r')).toBeUndefined()
    expect(seqs.accept('r', 7)).toBe(true)
    expect(seqs.last('r')).toBe(7)
  })

  test('a message at or below the newest seen is a duplicate and is refused', () => {
    const seqs = createSeqTracker()
    for (const seq of [1, 2, 3]) expect(seqs.accept('r', seq)).toBe(true)
    expect(seqs.accept('r', 3)).toBe(false)
    expect(seqs.accept('r', 2)).toBe(false)
    expect(seqs.accept('r', 4)).toBe(true)
    expect(seqs.last('r')).toBe(4)
  })

  test('a replay that overlaps what was seen live yields every message exactly once', () => {
    const seqs = createSeqTracker()
    const delivered = [1, 2, 3, 2, 3, 4, 5, 5, 6].filter((seq) => seqs.accept('r', seq))
    expect(delivered).toEqual([1, 2, 3, 4, 5, 6])
  })

  test('rooms are tracked independently', () => {
    const seqs = createSeqTracker()
    seqs.accept('a', 10)
    expect(seqs.accept('b', 1)).toBe(true)
    expect(seqs.last('a')).toBe(10)
    expect(seqs.last('b')).toBe(1)
  })

  test('advance sets a starting point for a new room and never moves an old one backwards', () => {
    const seqs = createSeqTracker()
    seqs.advance('r', 5)
    expect(seqs.accept('r', 5)).toBe(false)
    expect(seqs.accept('r', 6)).toBe(true)
    seqs.advance('r', 3)
    expect(seqs.last('r')).toBe(6)
    seqs.advance('r', 9)
    expect(seqs.last('r')).toBe(9)
  })

  test('a forgotten room starts over', () => {
    const seqs = createSeqTracker()
    seqs.accept('r', 4)
    seqs.forget('r')
    expect(seqs.last('r')).toBeUndefined()
    expect(seqs.accept('r', 1)).toBe(true)
  })
})
