import { describe, expect, test } from 'bun:test'
import { createRoomAccess } from './room-access'

describe('room access of one socket', () => {
  test('a room is joined once; a second join of it, finished or under way, is refused', () => {
    const access = createRoomAccess(10)
    expect(access.startJoin('a')).toBeNull()
    expect(access.startJoin('a')).toBe('ALREADY_JOINED')
    expect(access.finishJoin('a', true)).toBeNull()
    expect(access.has('a')).toBe(true)
    expect(access.startJoin('a')).toBe('ALREADY_JOINED')
  })

  test('joins under way count against the room limit; a failed one frees its place and joins nothing', () => {
    const access = createRoomAccess(2)
    access.startJoin('a')
    access.finishJoin('a', true)
    access.startJoin('b')
    expect(access.startJoin('c')).toBe('TOO_MANY_ROOMS')
    expect(access.finishJoin('b', false)).toBeNull()
    expect(access.has('b')).toBe(false)
    expect(access.startJoin('c')).toBeNull()
  })

  test('a membership that ends drops a joined room and nothing else', () => {
    const access = createRoomAccess(10)
    access.startJoin('a')
    access.finishJoin('a', true)
    expect(access.end('a', 'removed')).toBe('joined')
    expect(access.has('a')).toBe(false)
    expect(access.end('b', 'left')).toBe('none')
    expect(access.leave('a')).toBe(false)
  })

  test('a membership that ends during a join makes that join report the reason instead of joining', () => {
    const access = createRoomAccess(10)
    access.startJoin('a')
    expect(access.end('a', 'left')).toBe('joining')
    expect(access.finishJoin('a', true)).toBe('left')
    expect(access.has('a')).toBe(false)
    expect(access.startJoin('a')).toBeNull()
    access.end('a', 'removed')
    expect(access.finishJoin('a', false)).toBe('removed')
  })
})
