import { Elysia, t } from 'elysia'
import type { SigningKey } from './signing-key'

const Jwks = t.Object({ keys: t.Array(t.Record(t.String(), t.Unknown())) }, { title: 'JWKS' })

/** Public keys for verifiers; cacheable, they change only when the key is rotated. */
export function keysController(key: SigningKey) {
  const body = { keys: [key.publicJwk] }
  return new Elysia({ name: 'keys-controller', prefix: '/auth' }).get(
    '/.well-known/jwks.json',
    ({ set }) => {
      set.headers['cache-control'] = 'public, max-age=300'
      return body
    },
    {
      response: { 200: Jwks },
      detail: { summary: 'Public signing keys (JWKS)', tags: ['Keys'], description: 'Ed25519 keys; only the auth service holds the private half.' },
    },
  )
}
