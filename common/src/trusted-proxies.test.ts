import { describe, expect, test } from 'bun:test'
import { parseTrustedProxies, type TrustedProxies } from './trusted-proxies'

function trusted(value: string): TrustedProxies {
  const parsed = parseTrustedProxies(value)
  if (!parsed.ok) throw new Error(`refused ${parsed.entry}`)
  return parsed.trusted
}

describe('TRUSTED_PROXIES', () => {
  test('an exact address trusts that peer only', () => {
    const list = trusted('172.28.0.10')
    expect(list.has('172.28.0.10')).toBe(true)
    expect(list.has('172.28.0.11')).toBe(false)
  })

  test('the default loopback list trusts IPv4, IPv6 and IPv4-mapped loopback peers', () => {
    const list = trusted('127.0.0.1,::1,::ffff:127.0.0.1')
    for (const peer of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) expect(list.has(peer)).toBe(true)
    expect(list.has('127.0.0.2')).toBe(false)
  })

  test('a CIDR range trusts every peer inside it, in plain and IPv4-mapped form, and none outside', () => {
    const list = trusted('10.244.0.0/16, fd00:10:244::/48')
    expect(list.has('10.244.3.7')).toBe(true)
    expect(list.has('::ffff:10.244.3.7')).toBe(true)
    expect(list.has('fd00:10:244:1::5')).toBe(true)
    expect(list.has('10.245.0.1')).toBe(false)
    expect(list.has('fd00:10:245::1')).toBe(false)
  })

  test('an empty list trusts nobody, and a peer that is not an address is never trusted', () => {
    expect(trusted('').has('127.0.0.1')).toBe(false)
    expect(trusted('0.0.0.0/0').has('unknown')).toBe(false)
  })

  test('a host name, a prefix too long for its family or a second slash is refused, naming the entry', () => {
    for (const entry of ['caddy', '10.0.0.0/33', '::/129', '10.0.0.0/8/1', '10.0.0.0/x', '10.0.0.0/']) {
      expect(parseTrustedProxies(`127.0.0.1, ${entry}`)).toEqual({ ok: false, entry })
    }
  })
})
