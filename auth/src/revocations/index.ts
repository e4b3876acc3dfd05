import { Elysia, t } from 'elysia'
import { REVOCATIONS_PATH } from '@chat/common/boot'
import { internalGuard } from '@chat/common/internal'
import type { AuthDeps } from '../deps'
import { listRevocationsInForce } from '../sessions/service'

const RevokedSessions = t.Array(t.Object({ sessionId: t.String({ format: 'uuid' }), expiresAt: t.Integer({ description: 'Epoch ms' }) }))

/**
 * The revocations still in force, from Postgres, their source of truth: every other
 * service's instances load them at start and after each Redis reconnect, so losing Redis
 * (or its keys) never re-admits a revoked token. Internal: Caddy never routes it.
 */
export function revocationsController(deps: AuthDeps) {
  return new Elysia({ name: 'revocations-controller' })
    .use(internalGuard(deps.internalToken))
    .get(REVOCATIONS_PATH, () => listRevocationsInForce(deps.sql), { response: { 200: RevokedSessions } })
}
