import { describe, expect, test } from 'bun:test'
import { memberFailure, moderatorFailure, outranks, ownerFailure, type LockedRoom, type Role } from './authority'

const room = (callerRole: Role | null, overrides: Partial<LockedRoom> = {}): LockedRoom => ({
  id: 'r',
  private: false,
  direct: false,
  ownerId: 'o',
  lastSeq: 0,
  callerRole,
  callerBanned: false,
  ...overrides,
})

describe('who may act in a room', () => {
  test('an unknown room, and a private room to a non-member, are not found; a public one is not theirs', () => {
    expect(memberFailure(null)).toBe('NOT_FOUND')
    expect(memberFailure(room(null, { private: true }))).toBe('NOT_FOUND')
    expect(memberFailure(room(null))).toBe('NOT_A_MEMBER')
    expect(memberFailure(room('member'))).toBeNull()
  })

  test('moderation is for the owner and admins, ownership matters for the owner alone', () => {
    expect([moderatorFailure(room('owner')), moderatorFailure(room('admin')), moderatorFailure(room('member'))]).toEqual([null, null, 'NOT_ALLOWED'])
    expect([ownerFailure(room('owner')), ownerFailure(room('admin')), ownerFailure(room('member'))]).toEqual([null, 'NOT_ALLOWED', 'NOT_ALLOWED'])
    expect(ownerFailure(room(null, { private: true }))).toBe('NOT_FOUND')
  })

  test('nobody moderates a direct-message room, whatever their role says', () => {
    expect(moderatorFailure(room('owner', { direct: true }))).toBe('NOT_ALLOWED')
    expect(ownerFailure(room('owner', { direct: true }))).toBe('NOT_ALLOWED')
  })

  test('one acts only on those below: the owner on everyone else, an admin on members and outsiders, nobody on the owner', () => {
    const roles: (Role | null)[] = ['owner', 'admin', 'member', null]
    const table = Object.fromEntries(roles.map((actor) => [String(actor), roles.map((target) => outranks(actor, target))]))
    expect(table).toEqual({
      owner: [false, true, true, true],
      admin: [false, false, true, true],
      member: [false, false, false, false],
      null: [false, false, false, false],
    })
  })
})
