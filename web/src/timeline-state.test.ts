import { describe, expect, test } from 'bun:test'
import type { RoomEvent, Message } from '@chat/common/chat-protocol'
import { applyEvent, seenBy } from './timeline-state'

const ME = 'me'
const message: Message = { id: 'm1', room: 'r', seq: 3, senderId: 'ada', body: 'helo', clientId: 'c', createdAt: '2026-11-30T07:00:00.000Z' }
const base = { room: 'r', seq: 9, actorId: 'ada', createdAt: '2026-11-30T07:01:00.000Z' }
const reaction = (emoji: string, added: boolean, actorId = 'bob'): RoomEvent => ({ ...base, actorId, kind: 'reaction', target: 'm1', data: { emoji, added } })

describe('applyEvent', () => {
  test('an edit replaces the body and sets editedAt', () => {
    const edited = applyEvent(message, { ...base, kind: 'edit', target: 'm1', data: { body: 'hello' } }, ME)
    expect(edited.body).toBe('hello')
    expect(edited.editedAt).toBe(base.createdAt)
  })

  test('a deletion leaves a tombstone without body or reactions, keeping replyTo', () => {
    const deleted = applyEvent({ ...message, replyTo: 'm0', reactions: [{ emoji: '👍', count: 1, me: false }] }, { ...base, kind: 'delete', target: 'm1', data: {} }, ME)
    expect(deleted).toMatchObject({ body: '', deleted: true, reactions: [], replyTo: 'm0' })
  })

  test('an edit of a deleted message changes nothing', () => {
    const deleted = { ...message, body: '', deleted: true as const }
    expect(applyEvent(deleted, { ...base, kind: 'edit', target: 'm1', data: { body: 'back' } }, ME)).toBe(deleted)
  })

  test('reactions count up and down, mark my own, and vanish at zero', () => {
    let state = applyEvent(message, reaction('👍', true), ME)
    state = applyEvent(state, reaction('👍', true, ME), ME)
    expect(state.reactions).toEqual([{ emoji: '👍', count: 2, me: true }])
    state = applyEvent(state, reaction('👍', false, ME), ME)
    expect(state.reactions).toEqual([{ emoji: '👍', count: 1, me: false }])
    state = applyEvent(state, reaction('👍', false), ME)
    expect(state.reactions).toEqual([])
  })

  test('my own reaction already shown is not counted twice', () => {
    const shown = { ...message, reactions: [{ emoji: '🎉', count: 1, me: true }] }
    expect(applyEvent(shown, reaction('🎉', true, ME), ME).reactions).toEqual([{ emoji: '🎉', count: 1, me: true }])
  })

  test('an event about another message changes nothing', () => {
    expect(applyEvent(message, { ...base, kind: 'reaction', target: 'm2', data: { emoji: '👍', added: true } }, ME)).toBe(message)
  })
})

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
