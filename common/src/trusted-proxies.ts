import { BlockList, isIP } from 'node:net'

/**
 * The peers whose X-Forwarded-For is believed: exact addresses (`10.1.2.3`, `::1`) and, for
 * platforms where the proxy's address is not fixed (Kubernetes gives each Caddy pod a new one
 * from the pod network), CIDR ranges (`10.244.0.0/16`). IPv4 entries also match their
 * IPv4-mapped IPv6 form (`::ffff:10.1.2.3`), which is how a dual-stack listener sees them.
 */
export type TrustedProxies = { has(peer: string): boolean }

export type TrustedProxiesParse = { ok: true; trusted: TrustedProxies } | { ok: false; entry: string }

/** Comma-separated entries; an empty list trusts nobody. */
export function parseTrustedProxies(value: string): TrustedProxiesParse {
  const list = new BlockList()
  for (const entry of value.split(',').map((part) => part.trim()).filter(Boolean)) {
    const [address, prefix, extra] = entry.split('/')
    const family = isIP(address)
    if (family === 0 || extra !== undefined) return { ok: false, entry }
    const type = family === 4 ? 'ipv4' : 'ipv6'
    if (prefix === undefined) {
      list.addAddress(address, type)
      continue
    }
    const bits = Number(prefix)
    if (!/^\d{1,3}$/.test(prefix) || bits > (family === 4 ? 32 : 128)) return { ok: false, entry }
    list.addSubnet(address, bits, type)
  }
  return {
    ok: true,
    trusted: {
      has: (peer) => {
        const family = isIP(peer)
        return family !== 0 && list.check(peer, family === 4 ? 'ipv4' : 'ipv6')
      },
    },
  }
}
