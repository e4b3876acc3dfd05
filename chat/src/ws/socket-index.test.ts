import { describe, expect, test } from 'bun:test'
import { createSocketIndex } from './socket-index'

describe('socket index', () => {
  test('finds sockets by session and by user, and tells a user’s first and last socket', () => {
    const index = createSocketIndex<string>()
    expect(index.put('s1', 'session-a', 'ann')).toBe(true)
    expect(index.put('s2', 'session-b', 'ann')).toBe(false)
    expect(index.ofUser('ann').sort()).toEqual(['s1', 's2'])
    expect(index.ofSession('session-a')).toEqual(['s1'])
    expect(index.remove('s1')).toBeNull()
    expect(index.remove('s2')).toBe('ann')
    expect(index.ofUser('ann')).toEqual([])
  })

  test('a renewal with another session moves the socket between sessions and keeps the user', () => {
    const index = createSocketIndex<string>()
    index.put('s1', 'old', 'ann')
    expect(index.put('s1', 'new', 'ann')).toBe(false)
    expect(index.ofSession('old')).toEqual([])
    expect(index.ofSession('new')).toEqual(['s1'])
    expect(index.ofUser('ann')).toEqual(['s1'])
  })

  test('removing a socket that was never filed changes nothing', () => {
    const index = createSocketIndex<string>()
    index.put('s1', 'a', 'ann')
    expect(index.remove('unknown')).toBeNull()
    expect(index.ofUser('ann')).toEqual(['s1'])
  })
})
