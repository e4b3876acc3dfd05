import { describe, expect, test } from 'bun:test'
import type { Notice } from '@chat/client/room-state'
import { describeNotice, type LinePart } from './timeline-line'

const [ADA, BOB] = ['ada-id', 'bob-id']
const base = { room: 'r', seq: 4, actorId: ADA, createdAt: '2026-11-30T07:00:00.000Z' }
const member = (data: Extract<Notice, { kind: 'member' }>['data'], actorId = ADA): Notice => ({ ...base, actorId, kind: 'member', data })
const room = (data: { name?: string; topic?: string }): Notice => ({ ...base, kind: 'room', data })
/** The line as read, with user ids standing in for names. */
const read = (parts: LinePart[]) => parts.map((part) => (typeof part === 'string' ? part : `<${part.user}>`)).join('')

describe('describeNotice', () => {
  test('membership changes name who changed and who did it', () => {
    expect(read(describeNotice(member({ userId: BOB, change: 'joined' }, BOB)))).toBe('<bob-id> joined')
    expect(read(describeNotice(member({ userId: BOB, change: 'left' }, BOB)))).toBe('<bob-id> left')
    expect(read(describeNotice(member({ userId: BOB, change: 'added' })))).toBe('<ada-id> added <bob-id>')
    expect(read(describeNotice(member({ userId: BOB, change: 'removed' })))).toBe('<ada-id> removed <bob-id>')
    expect(read(describeNotice(member({ userId: BOB, change: 'banned' })))).toBe('<bob-id> was banned')
    expect(read(describeNotice(member({ userId: BOB, change: 'unbanned' })))).toBe('<bob-id> was unbanned')
  })

  test('role changes say the new role; a handover says who took over and the previous owner’s new role', () => {
    expect(read(describeNotice(member({ userId: BOB, change: 'role', role: 'admin' })))).toBe('<ada-id> made <bob-id> an admin')
    expect(read(describeNotice(member({ userId: BOB, change: 'role', role: 'member' })))).toBe('<ada-id> made <bob-id> a member')
    expect(read(describeNotice(member({ userId: BOB, change: 'role', role: 'owner' })))).toBe('<ada-id> handed the room over to <bob-id>')
    expect(read(describeNotice(member({ userId: ADA, change: 'role', role: 'admin' })))).toBe('<ada-id> is now an admin')
  })

  test('room changes quote the new name and topic, and say when the topic was cleared', () => {
    expect(read(describeNotice(room({ name: 'plans' })))).toBe('<ada-id> renamed the room to “plans”')
    expect(read(describeNotice(room({ topic: 'Friday' })))).toBe('<ada-id> set the topic to “Friday”')
    expect(read(describeNotice(room({ name: 'plans', topic: '' })))).toBe('<ada-id> renamed the room to “plans” and cleared the topic')
  })
})
