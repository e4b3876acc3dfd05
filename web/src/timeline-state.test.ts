import { describe, expect, test } from 'bun:test'
import { seenBy } from './timeline-state'

const ME = 'me'

describe('seenBy', () => {
  const shown = (...items: [number, string][]) => items.map(([seq, senderId]) => ({ seq, senderId }))

  test('names everyone else under the newest message someone else has read', () => {
    const markers = new Map([
      ['bob', 5],
      ['cy', 9],
      [ME, 12],
    ])
    expect(seenBy(shown([2, ME], [4, ME], [7, ME], [10, ME]), markers, ME)).toEqual({ seq: 7, userIds: ['cy'] })
  })

  test('a marker on an event seq counts for the message before it', () => {
    expect(seenBy(shown([2, ME], [4, ME]), new Map([['bob', 3]]), ME)).toEqual({ seq: 2, userIds: ['bob'] })
  })

  test('a sender is not said to have seen their own message', () => {
    const markers = new Map([
      ['bob', 6],
      ['cy', 4],
    ])
    expect(seenBy(shown([4, ME], [6, 'bob']), markers, ME)).toEqual({ seq: 4, userIds: ['bob', 'cy'] })
  })

  test('nothing to show when only I have read, or nobody has read a shown message', () => {
    expect(seenBy(shown([2, 'bob'], [4, 'bob']), new Map([[ME, 4]]), ME)).toBeNull()
    expect(seenBy(shown([5, ME], [6, ME]), new Map([['bob', 4]]), ME)).toBeNull()
  })
})
