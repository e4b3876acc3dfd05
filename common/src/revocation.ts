import type { Logger } from './logger'
import type { Redis } from './redis'

/** Redis key per revoked session id; it lives as long as the longest access token could. */
export const REVOKED_SESSION_PREFIX = 'auth:revoked:sid:'
/** Channel on which every revocation is announced to every instance of every service. */
export const REVOCATION_CHANNEL = 'auth:revocations'
const PRUNE_INTERVAL_MS = 60_000

export type RevocationReason = 'logout' | 'session-revoked' | 'password-changed' | 'account-deleted' | 'refresh-reused'
export type RevocationEvent = { sessionIds: string[]; reason: RevocationReason; expiresAt: number }

/** Writes the blacklist entries (with TTL) and publishes the event in one round trip. */
export async function publishRevocation(redis: Redis, sessionIds: string[], reason: RevocationReason, ttlSeconds: number) {
  if (sessionIds.length === 0) return
  const event: RevocationEvent = { sessionIds, reason, expiresAt: Date.now() + ttlSeconds * 1000 }
  const multi = redis.multi()
  for (const sid of sessionIds) multi.set(REVOKED_SESSION_PREFIX + sid, reason, { EX: ttlSeconds })
  multi.publish(REVOCATION_CHANNEL, JSON.stringify(event))
  await multi.exec()
}

export type RevocationList = {
  isRevoked(sessionId: string): boolean
  /** Called for every revocation this instance learns of (the chat closes sockets with it). */
  onRevoked(listener: (event: RevocationEvent) => void): void
  stop(): Promise<void>
}

/**
 * An in-memory copy of the blacklist so that checking a token costs no network call.
 * It is filled from Redis at start (instances started after a revocation know it too),
 * kept current by the pub/sub channel, and reloaded whenever the subscriber reconnects,
 * because events published while it was away are lost.
 */
export async function startRevocationList(redis: Redis, log: Logger): Promise<RevocationList> {
  const revokedUntil = new Map<string, number>()
  const listeners: ((event: RevocationEvent) => void)[] = []
  const subscriber = redis.duplicate()
  subscriber.on('error', () => {}) // the command client already reports connection loss

  const apply = (event: RevocationEvent) => {
    for (const sid of event.sessionIds) revokedUntil.set(sid, event.expiresAt)
    for (const listener of listeners) listener(event)
  }

  const reload = async () => {
    for await (const batch of redis.scanIterator({ MATCH: REVOKED_SESSION_PREFIX + '*', COUNT: 1000 })) {
      const keys = ([] as string[]).concat(batch)
      if (keys.length === 0) continue
      // One round trip per scanned batch, not per key.
      const multi = redis.multi()
      for (const key of keys) multi.pTTL(key)
      const ttls = await multi.exec()
      keys.forEach((key, i) => {
        const ttl = Number(ttls[i])
        if (ttl > 0) revokedUntil.set(key.slice(REVOKED_SESSION_PREFIX.length), Date.now() + ttl)
      })
    }
  }

  subscriber.on('ready', () => {
    reload().catch((error) => log.warn('revocation reload failed', { error }))
  })
  await subscriber.connect()
  await subscriber.subscribe(REVOCATION_CHANNEL, (message) => {
    try {
      apply(JSON.parse(message) as RevocationEvent)
    } catch (error) {
      log.warn('bad revocation event', { error })
    }
  })
  await reload()

  const pruner = setInterval(() => {
    const now = Date.now()
    for (const [sid, until] of revokedUntil) if (until <= now) revokedUntil.delete(sid)
  }, PRUNE_INTERVAL_MS)
  pruner.unref()

  return {
    isRevoked: (sid) => (revokedUntil.get(sid) ?? 0) > Date.now(),
    onRevoked: (listener) => void listeners.push(listener),
    async stop() {
      clearInterval(pruner)
      await subscriber.quit().catch(() => {})
    },
  }
}
