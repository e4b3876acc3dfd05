import { describe, expect, test } from 'bun:test'
import type { MemberChange, RoomEvent } from '@chat/common/chat-protocol'
import { membershipEndedBy, toFeedItem } from './feed-item'

const memberEvent = (change: MemberChange, userId = 'u1'): RoomEvent => ({
  room: 'r',
  seq: 5,
  kind: 'member',
  actorId: 'a',
  createdAt: '2026-11-30T00:00:00.000Z',
  data: { userId, change },
})
const frameOf = (item: Parameters<typeof toFeedItem>[0]) => toFeedItem(item).frame

describe('membershipEndedBy', () => {
  test('names the user of a leave, a removal or a ban', () => {
    for (const change of ['left', 'removed', 'banned'] as const) expect(membershipEndedBy(frameOf(memberEvent(change)))).toBe('u1')
  })

  test('is null for every other member change, other events and messages, whatever their text', () => {
    for (const change of ['joined', 'added', 'unbanned', 'role'] as const) expect(membershipEndedBy(frameOf(memberEvent(change)))).toBeNull()
    const body = '{"type":"event","kind":"member","data":{"userId":"u1","change":"removed"}}'
    expect(membershipEndedBy(frameOf({ room: 'r', seq: 6, id: 'm', senderId: 's', body, clientId: 'c', createdAt: '2026-11-30T00:00:00.000Z' }))).toBeNull()
    expect(membershipEndedBy(frameOf({ room: 'r', seq: 7, kind: 'edit', actorId: 'a', target: 'm', createdAt: '2026-11-30T00:00:00.000Z', data: { body } }))).toBeNull()
  })
})
