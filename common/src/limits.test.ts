import { describe, expect, test } from 'bun:test'
import { ipLimitKey } from './limits'

describe('the key a per-IP limit counts a client under', () => {
  test('an IPv4 address is itself, also when written IPv4-mapped', () => {
    expect(ipLimitKey('198.51.100.7')).toBe('198.51.100.7')
    expect(ipLimitKey('::ffff:198.51.100.7')).toBe('198.51.100.7')
    expect(ipLimitKey('::FFFF:198.51.100.7')).toBe('198.51.100.7')
  })

  test('every address of one IPv6 /64 is one key, however it is written', () => {
    const keys = ['2001:db8:1:2::1', '2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:0DB8:0001:0002:0:0:0:9', '2001:db8:1:2::a%eth0']
    expect(new Set(keys.map(ipLimitKey))).toEqual(new Set(['2001:db8:1:2::/64']))
  })

  test('neighbouring /64s and short forms are told apart', () => {
    expect(ipLimitKey('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64')
    expect(ipLimitKey('2001:db8::1')).toBe('2001:db8:0:0::/64')
    expect(ipLimitKey('::1')).toBe('0:0:0:0::/64')
    expect(ipLimitKey('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64')
  })

  test('anything else is kept as it is', () => {
    expect(ipLimitKey('unknown')).toBe('unknown')
  })
})
