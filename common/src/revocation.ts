import { withTimeout } from './async'
import type { Logger } from './logger'
import { duplicateForPubSub, onConnectionChange, scanSlot, type Redis } from './redis'

/**
 * Redis key per revoked session id (after REDIS_PREFIX); it lives as long as the longest
 * access token could. The hash tag puts every one on one slot of a Redis Cluster, so a
 * revocation of several sessions is one MULTI and a reload scans one node: they are few
 * (only those of the last access-token lifetime), so one shard holds them easily.
 */
export const REVOKED_SESSION_PREFIX = '{auth:revoked}:sid:'
/** Channel (after REDIS_PREFIX) on which every revocation is announced to every instance of every service. */
export const REVOCATION_CHANNEL = 'auth:revocations'
const PRUNE_INTERVAL_MS = 60_000

export type RevocationReason = 'logout' | 'session-revoked' | 'password-changed' | 'account-deleted' | 'refresh-reused' | 'session-limit' | 'mfa-enabled'
export type RevocationEvent = { sessionIds: string[]; reason: RevocationReason; expiresAt: number }
/** A revocation still in force, as the durable store (auth's Postgres) lists it; `expiresAt` in epoch ms. */
export type RevokedSession = { sessionId: string; expiresAt: number }

/** Writes the blacklist entries (with TTL) and publishes the event in one round trip. */
export async function publishRevocation(redis: Redis, prefix: string, sessionIds: string[], reason: RevocationReason, ttlSeconds: number) {
  if (sessionIds.length === 0) return
  const event: RevocationEvent = { sessionIds, reason, expiresAt: Date.now() + ttlSeconds * 1000 }
  const multi = redis.multi()
  for (const sid of sessionIds) multi.set(prefix + REVOKED_SESSION_PREFIX + sid, reason, { EX: ttlSeconds })
  multi.publish(prefix + REVOCATION_CHANNEL, JSON.stringify(event))
  await multi.exec()
}

export type RevocationList = {
  isRevoked(sessionId: string): boolean
  /** Called for every revocation this instance learns of (the chat closes sockets with it). */
  onRevoked(listener: (event: RevocationEvent) => void): void
  stop(): Promise<void>
}

export type RevocationListOptions = {
  /** REDIS_PREFIX: put before the keys and the channel. */
  prefix: string
  /** Reads the revocations still in force from the source of truth; throws when it cannot. */
  loadDurable: () => Promise<RevokedSession[]>
  /** Start-up waits this long for the first durable load, then goes on with a warning. */
  firstLoadTimeoutMs: number
  /** A failed durable load is tried again after this long, until one succeeds. */
  retryMs: number
  /** The durable load also runs this often: a safety net for announcements that never arrived. */
  resyncMs: number
}

/**
 * An in-memory copy of the blacklist so that checking a token costs no network call.
 * Postgres (through auth) is the source of truth and Redis the fast path: the copy is
 * filled from both at start, kept current by the pub/sub channel, and refilled from both
 * whenever the subscriber reconnects, because events published while it was away are
 * lost and Redis itself may have lost its keys (restart without persistence, failover,
 * eviction). A periodic reload from the source of truth catches an announcement that was
 * never published (auth could not reach Redis, this instance could).
 */
export async function startRevocationList(redis: Redis, log: Logger, options: RevocationListOptions): Promise<RevocationList> {
  const revokedUntil = new Map<string, number>()
  const listeners: ((event: RevocationEvent) => void)[] = []
  const keyPrefix = options.prefix + REVOKED_SESSION_PREFIX
  // Plain pub/sub on a cluster too: every instance of every service needs every event, and
  // the cluster bus forwards a PUBLISH to every node. Revocations are rare.
  const subscriber = duplicateForPubSub(redis)
  let stopped = false
  let retryTimer: Timer | undefined

  const remember = (sessionId: string, until: number) => {
    if (until > (revokedUntil.get(sessionId) ?? 0)) revokedUntil.set(sessionId, until)
  }
  const apply = (event: RevocationEvent) => {
    for (const sid of event.sessionIds) remember(sid, event.expiresAt)
    for (const listener of listeners) listener(event)
  }

  const reloadFromRedis = async () => {
    for await (const { keys, node } of scanSlot(redis, keyPrefix, keyPrefix + '*')) {
      // One round trip per scanned batch, not per key.
      const multi = node.multi()
      for (const key of keys) multi.pTTL(key)
      const ttls = await multi.exec()
      keys.forEach((key, i) => {
        const ttl = Number(ttls[i])
        if (ttl > 0) remember(key.slice(keyPrefix.length), Date.now() + ttl)
      })
    }
  }

  const reloadFromSource = async () => {
    for (const { sessionId, expiresAt } of await options.loadDurable()) remember(sessionId, expiresAt)
  }

  let markLoaded = () => {}
  const durableLoaded = new Promise<void>((resolve) => (markLoaded = resolve))

  let failing = false
  /** Tries the durable load until it succeeds; a new attempt replaces a pending retry. Logs once per outage. */
  const loadDurableWithRetry = async (): Promise<void> => {
    clearTimeout(retryTimer)
    try {
      await reloadFromSource()
      markLoaded()
      if (failing) log.info('revocations: loaded from the source of truth again')
      failing = false
    } catch (error) {
      if (stopped) return
      if (!failing) log.warn('revocations: cannot load from the source of truth; retrying', { error, retryMs: options.retryMs })
      failing = true
      retryTimer = setTimeout(() => void loadDurableWithRetry(), options.retryMs)
      retryTimer.unref()
    }
  }

  const reloadAll = () => {
    const fromRedis = reloadFromRedis().catch((error) => log.warn('revocation reload from Redis failed', { error }))
    void loadDurableWithRetry()
    return fromRedis
  }

  // Only a connection that came back reloads: the first one is covered by the load just below.
  onConnectionChange(subscriber, {
    lost: () => {}, // the command client already reports connection loss
    restored: () => void reloadAll(),
  })
  await subscriber.connect()
  await subscriber.subscribe(options.prefix + REVOCATION_CHANNEL, (message) => {
    try {
      apply(JSON.parse(message) as RevocationEvent)
    } catch (error) {
      log.warn('bad revocation event', { error })
    }
  })
  await withTimeout(Promise.all([reloadAll(), durableLoaded]), options.firstLoadTimeoutMs).catch(() =>
    log.warn('revocations: first load not finished in time; starting anyway and retrying', { timeoutMs: options.firstLoadTimeoutMs }),
  )

  const pruner = setInterval(() => {
    const now = Date.now()
    for (const [sid, until] of revokedUntil) if (until <= now) revokedUntil.delete(sid)
  }, PRUNE_INTERVAL_MS)
  pruner.unref()
  const resync = setInterval(() => void loadDurableWithRetry(), options.resyncMs)
  resync.unref()

  return {
    isRevoked: (sid) => (revokedUntil.get(sid) ?? 0) > Date.now(),
    onRevoked: (listener) => void listeners.push(listener),
    async stop() {
      stopped = true
      clearInterval(pruner)
      clearInterval(resync)
      clearTimeout(retryTimer)
      await subscriber.quit().catch(() => {})
    },
  }
}
