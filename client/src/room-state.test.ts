import { describe, expect, test } from 'bun:test'
import { createEmitter } from './emitter'
import type { RoomEvent, TimelineMessage } from './room-events'
import { addHistory, applyToRoom, createRoomState, trackRooms, type RoomState, type StreamItem } from './room-state'

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

  test('an event about a message not held only moves lastSeq; room events set the name and topic', () => {
    const state = applyAll([
      event(7, { kind: 'edit', target: 'older', data: { body: 'x' } }),
      event(8, { kind: 'room', data: { name: 'general', topic: 'hello' } }),
      event(9, { kind: 'room', data: { topic: 'changed' } }),
      event(10, { kind: 'member', data: { userId: OTHER, change: 'joined' } }),
    ])
    expect(state).toEqual({ room: ROOM, lastSeq: 10, messages: [], name: 'general', topic: 'changed' })
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
