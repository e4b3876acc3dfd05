import { describe, expect, test } from 'bun:test'
import { createEmitter } from './emitter'
import type { RoomEvent, TimelineMessage } from './room-events'
import { addHistory, addPastEvents, applyToRoom, createRoomState, trackRooms, type Notice, type RoomState, type StreamItem } from './room-state'

const ROOM = 'room-1'
const [ME, OTHER] = ['user-me', 'user-other']
const at = (seq: number) => `2026-11-30T07:00:${String(seq).padStart(2, '0')}.000Z`

const message = (seq: number, body: string, extra: Partial<TimelineMessage> = {}): TimelineMessage => ({
  id: `m${seq}`, room: ROOM, seq, senderId: ME, body, clientId: `c${seq}`, createdAt: at(seq), ...extra,
})
const event = (seq: number, fields: Pick<RoomEvent, 'kind' | 'data'> & { target?: string; actorId?: string }): RoomEvent =>
  ({ room: ROOM, seq, actorId: ME, createdAt: at(seq), ...fields }) as RoomEvent

const applyAll = (items: StreamItem[], state: RoomState = createRoomState(ROOM)) => items.reduce((s, item) => applyToRoom(s, item, ME), state)

describe('room state', () => {
  test('messages are appended in seq order and a repeat changes nothing', () => {
    const state = applyAll([message(1, 'one'), message(2, 'two'), message(2, 'two again'), message(1, 'one again')])
    expect(state.messages.map((m) => m.body)).toEqual(['one', 'two'])
    expect(state.lastSeq).toBe(2)
  })

  test('an edit replaces the body and sets editedAt; a deletion erases it and its reactions but keeps the reply link', () => {
    const state = applyAll([
      message(1, 'first'),
      message(2, 'tpyo', { replyTo: 'm1' }),
      event(3, { kind: 'edit', target: 'm2', data: { body: 'typo' } }),
      event(4, { kind: 'reaction', target: 'm1', data: { emoji: '👍', added: true } }),
      event(5, { kind: 'delete', target: 'm1', data: {} }),
    ])
    expect(state.messages[1]).toMatchObject({ body: 'typo', editedAt: at(3), replyTo: 'm1' })
    expect(state.messages[0]).toMatchObject({ body: '', deleted: true, reactions: [] })
    expect(state.lastSeq).toBe(5)
  })

  test('a deleted message stays deleted: a late edit or reaction does not bring it back', () => {
    const state = applyAll([
      message(1, 'gone'),
      event(2, { kind: 'delete', target: 'm1', data: {} }),
      event(3, { kind: 'edit', target: 'm1', data: { body: 'back?' } }),
      event(4, { kind: 'reaction', target: 'm1', data: { emoji: '👍', added: true } }),
    ])
    expect(state.messages[0]).toMatchObject({ body: '', deleted: true, reactions: [] })
  })

  test('reactions are counted per emoji, with `me` for the caller’s own', () => {
    const react = (seq: number, emoji: string, added: boolean, actorId: string) => event(seq, { kind: 'reaction', target: 'm1', actorId, data: { emoji, added } })
    const state = applyAll([message(1, 'hi'), react(2, '👍', true, OTHER), react(3, '👍', true, ME), react(4, '🎉', true, OTHER)])
    expect(state.messages[0].reactions).toEqual([
      { emoji: '👍', count: 2, me: true },
      { emoji: '🎉', count: 1, me: false },
    ])
    const after = applyAll([react(5, '👍', false, ME), react(6, '🎉', false, OTHER)], state)
    expect(after.messages[0].reactions).toEqual([{ emoji: '👍', count: 1, me: false }])
  })

  test('an event about a message not held only moves lastSeq; room events set the name and topic; both kinds of change are kept as notices', () => {
    const notices = <Notice[]>[
      event(8, { kind: 'room', data: { name: 'general', topic: 'hello' } }),
      event(9, { kind: 'room', data: { topic: 'changed' } }),
      event(10, { kind: 'member', data: { userId: OTHER, change: 'joined' } }),
    ]
    const state = applyAll([event(7, { kind: 'edit', target: 'older', data: { body: 'x' } }), ...notices])
    expect(state).toEqual({ room: ROOM, lastSeq: 10, messages: [], reflects: {}, notices, name: 'general', topic: 'changed' })
  })

  test('past membership and room changes go between the messages by seq, each once; messages and message changes of the past stream are left to history pages', () => {
    const joined = event(2, { kind: 'member', data: { userId: OTHER, change: 'joined' } }) as Notice
    const renamed = event(6, { kind: 'room', data: { name: 'new name' } }) as Notice
    const live = applyAll([message(5, 'five'), renamed])
    const state = addPastEvents(live, [
      { ...message(1, 'one'), kind: 'message' },
      joined,
      event(3, { kind: 'reaction', target: 'm1', data: { emoji: '👍', added: true } }),
      renamed,
    ])
    expect(state.notices).toEqual([joined, renamed])
    expect(state.messages.map((m) => m.seq)).toEqual([5])
    expect(state.name).toBe('new name')
    expect(addPastEvents(state, [joined])).toBe(state)
  })

  test('a live message that a history page already brought is not added again', () => {
    const paged = addHistory(createRoomState(ROOM), [message(7, 'seven', { editedAt: at(8) })], 8)
    const state = applyToRoom(paged, message(7, 'seven'), ME)
    expect(state.messages).toEqual([message(7, 'seven', { editedAt: at(8) })])
    expect(state.lastSeq).toBe(7)
  })

  test('the state given is never changed', () => {
    const before = applyAll([message(1, 'one')])
    const snapshot = structuredClone(before)
    applyToRoom(before, event(2, { kind: 'edit', target: 'm1', data: { body: 'edited' } }), ME)
    expect(before).toEqual(snapshot)
  })

  test('a history page merges in by seq, replacing what is held', () => {
    const live = applyAll([message(5, 'five')])
    const state = addHistory(live, [message(3, 'three'), message(5, 'five, edited', { editedAt: at(6) })])
    expect(state.messages.map((m) => [m.seq, m.body])).toEqual([[3, 'three'], [5, 'five, edited']])
    expect(state.lastSeq).toBe(5)
  })

  test('another user’s reaction that a history page already includes is not counted again when its live event arrives after the page', () => {
    // Live up to seq 10; the reader scrolls back while OTHER reacts to m5 (seq 11). The page
    // is read after the reaction (it reflects seq 11), but its frame arrives after the page.
    const live = applyAll([message(9, 'nine'), event(10, { kind: 'member', data: { userId: OTHER, change: 'joined' } })])
    const reacted = message(5, 'five', { reactions: [{ emoji: '👍', count: 1, me: false }] })
    const paged = addHistory(live, [message(4, 'four'), reacted], 11)
    const state = applyToRoom(paged, event(11, { kind: 'reaction', target: 'm5', actorId: OTHER, data: { emoji: '👍', added: true } }), ME)
    expect(state.messages.map((m) => [m.seq, m.reactions ?? []])).toEqual([
      [4, []],
      [5, [{ emoji: '👍', count: 1, me: false }]],
      [9, []],
    ])
    expect(state.lastSeq).toBe(11)
    // A later change to the same message still counts.
    const later = applyToRoom(state, event(12, { kind: 'reaction', target: 'm5', actorId: ME, data: { emoji: '👍', added: true } }), ME)
    expect(later.messages[1].reactions).toEqual([{ emoji: '👍', count: 2, me: true }])
  })

  test('a history page read before a live change does not undo it', () => {
    // m5 is held and its reaction (seq 11) applied live; a page read at seq 10 arrives late.
    const live = applyAll([message(5, 'five'), event(11, { kind: 'reaction', target: 'm5', actorId: OTHER, data: { emoji: '🎉', added: true } })])
    const state = addHistory(live, [message(5, 'five')], 10)
    expect(state.messages[0].reactions).toEqual([{ emoji: '🎉', count: 1, me: false }])
  })

  test('an event up to the page’s seq about a message the page does not hold still applies to what is held', () => {
    const live = applyAll([message(20, 'twenty')])
    // The page of older messages reflects seq 22; the edit of m20 (seq 21) is not in it.
    const paged = addHistory(live, [message(3, 'three')], 22)
    const state = applyToRoom(paged, event(21, { kind: 'edit', target: 'm20', data: { body: 'twenty!' } }), ME)
    expect(state.messages.map((m) => m.body)).toEqual(['three', 'twenty!'])
  })

  test('trackRooms keeps each room’s state from a socket’s frames and tells every change', () => {
    const socket = createEmitter<{ ready: { userId: string }; message: TimelineMessage; event: RoomEvent }>()
    const rooms = trackRooms(socket)
    const changes: number[] = []
    rooms.on('change', (state) => changes.push(state.lastSeq))
    socket.emit('ready', { userId: ME })
    socket.emit('message', message(1, 'hello'))
    socket.emit('event', event(2, { kind: 'reaction', target: 'm1', data: { emoji: '👍', added: true } }))
    socket.emit('message', { ...message(1, 'other room'), room: 'room-2' })
    expect(rooms.get(ROOM)?.messages[0].reactions).toEqual([{ emoji: '👍', count: 1, me: true }])
    expect(rooms.get('room-2')?.messages).toHaveLength(1)
    expect(changes).toEqual([1, 2, 1])
    rooms.stop()
    socket.emit('message', message(3, 'after stop'))
    expect(rooms.get(ROOM)?.lastSeq).toBe(2)
  })
})
