import type { ReservedSql } from 'postgres'
import { withTimeout } from '@chat/common/async'
import { createDb, type Sql } from '@chat/common/db'
import type { Logger } from '@chat/common/logger'
import type { ChatConfig } from './config'
import { replicaReads } from './metrics'

/** Connecting to the replica gives up after this long: the primary can answer meanwhile, so there is no point in waiting as long as for it. */
const REPLICA_CONNECT_TIMEOUT_SECONDS = 2
/**
 * The backstop behind the replica's statement_timeout, as a multiple of it (as the store
 * has, messages/store.ts): a replica that went silent (a cut network, a frozen host) answers
 * nothing, not even the cancellation. Its read is then answered from the primary; being a
 * read, nothing is lost by leaving it behind.
 */
const BACKSTOP_FACTOR = 2

/**
 * The reads a streaming replica may take off the primary. Writes, authorization checks and
 * everything else stay on the primary (`deps.sql`); only the reads handed to these two
 * methods may go elsewhere, and each says what it may then see.
 */
export type ReplicaReads = {
  /**
   * Runs `read` on a database holding every change of the room up to `minSeq` (the room's
   * `last_seq` as the caller's request found it on the primary, or the seq this instance has
   * delivered): on the replica when its copy of the room has reached `minSeq`, otherwise on
   * the primary. So a read never answers a state older than what the caller may have seen,
   * and a range read up to `minSeq` is gapless (seqs are taken under the room's row lock
   * with `last_seq`, so they commit in order, and a standby applies commits in order).
   * The check and `read` share one replica connection and are sent together: no round trip
   * is added; when the replica turns out to be behind, its answer is dropped and `read`
   * runs again on the primary. Any replica failure also falls back to the primary.
   */
  forRoom<T>(roomId: string, minSeq: number, read: (sql: Sql) => Promise<T>): Promise<T>
  /**
   * Runs `read` on the replica whatever its lag (the primary when it fails or none is set),
   * for reads whose answer may be a little stale (search: which messages match). The caller
   * knows which database answered, to check against the primary what must be current.
   */
  anyLag<T>(read: (sql: Sql) => Promise<T>): Promise<{ value: T; fromReplica: boolean }>
  end(): Promise<void>
}

/**
 * Whether the replica is worth trying: after a failure, not for `retryMs`; then one read
 * probes it (the others keep using the primary) and a success opens it again. `failed` and
 * `succeeded` say whether the state changed, so an outage is logged once, not per read.
 */
export function createReplicaHealth(retryMs: number, now: () => number = Date.now) {
  let down = false
  let retryAt = 0
  return {
    tryUse(): boolean {
      if (!down) return true
      if (now() < retryAt) return false
      retryAt = now() + retryMs
      return true
    },
    failed(): boolean {
      const wasUp = !down
      down = true
      retryAt = now() + retryMs
      return wasUp
    },
    succeeded(): boolean {
      const wasDown = down
      down = false
      return wasDown
    },
  }
}

type ForRoomOutcome<T> = { state: 'current'; value: T } | { state: 'behind' } | { state: 'failed'; error: unknown }

/**
 * On one reserved replica connection: the room's `last_seq`, and `read` sent right behind
 * it (pipelined). The standby runs them in that order and its state only moves forward, so
 * when the check has reached `minSeq`, so has everything `read` saw.
 */
async function readIfCaughtUp<T>(replica: Sql, roomId: string, minSeq: number, read: (sql: Sql) => Promise<T>): Promise<ForRoomOutcome<T>> {
  let connection: ReservedSql
  try {
    connection = await replica.reserve()
  } catch (error) {
    return { state: 'failed', error }
  }
  const check = connection<{ last_seq: string }[]>`select last_seq from chat.rooms where id = ${roomId}`.execute()
  const reading = read(connection)
  // Released once both are done, also when the answer is not waited for (replica behind).
  void Promise.allSettled([check, reading]).then(() => connection.release())
  try {
    const [row] = await check
    if (row === undefined || Number(row.last_seq) < minSeq) return { state: 'behind' }
    return { state: 'current', value: await reading }
  } catch (error) {
    return { state: 'failed', error }
  }
}

/** With no replica configured every read goes to the primary, so callers never ask whether there is one. */
export function createReplicaReads(primary: Sql, replica: Sql | null, options: { retryMs: number; statementTimeoutMs: number; log: Logger }): ReplicaReads {
  const health = createReplicaHealth(options.retryMs)
  const backstopMs = options.statementTimeoutMs * BACKSTOP_FACTOR
  const onPrimary = <T>(reason: 'behind' | 'unavailable' | 'no_replica', read: (sql: Sql) => Promise<T>) => {
    replicaReads.inc({ source: 'primary', reason })
    return read(primary)
  }
  const replicaFailed = (error: unknown) => {
    if (health.failed()) options.log.warn('replica read failed; reading from the primary until it answers again', { error, retryMs: options.retryMs })
  }
  const replicaAnswered = () => {
    if (health.succeeded()) options.log.info('replica answers again')
  }

  return {
    async forRoom(roomId, minSeq, read) {
      if (replica === null) return onPrimary('no_replica', read)
      if (!health.tryUse()) return onPrimary('unavailable', read)
      const outcome = await withTimeout(readIfCaughtUp(replica, roomId, minSeq, read), backstopMs).catch((error): ForRoomOutcome<never> => ({ state: 'failed', error }))
      if (outcome.state === 'failed') {
        replicaFailed(outcome.error)
        return onPrimary('unavailable', read)
      }
      replicaAnswered()
      if (outcome.state === 'behind') return onPrimary('behind', read)
      replicaReads.inc({ source: 'replica', reason: 'current' })
      return outcome.value
    },
    async anyLag(read) {
      if (replica === null) return { value: await onPrimary('no_replica', read), fromReplica: false }
      if (!health.tryUse()) return { value: await onPrimary('unavailable', read), fromReplica: false }
      try {
        const value = await withTimeout(read(replica), backstopMs)
        replicaAnswered()
        replicaReads.inc({ source: 'replica', reason: 'any_lag' })
        return { value, fromReplica: true }
      } catch (error) {
        replicaFailed(error)
        return { value: await onPrimary('unavailable', read), fromReplica: false }
      }
    },
    async end() {
      await replica?.end({ timeout: 5 })
    },
  }
}

/** The replica's pool, when DATABASE_REPLICA_URL is set. Nothing connects until the first read, so a replica that is down never stops start-up. */
export function connectReplica(config: Pick<ChatConfig, 'DATABASE_REPLICA_URL' | 'DATABASE_REPLICA_STATEMENT_TIMEOUT_MS'>): Sql | null {
  if (config.DATABASE_REPLICA_URL === undefined) return null
  return createDb(config.DATABASE_REPLICA_URL, {
    // Same reason as the primary's pool (index.ts): the standby's tables grow just the same.
    customPlans: true,
    connectTimeoutSeconds: REPLICA_CONNECT_TIMEOUT_SECONDS,
    statementTimeoutMs: config.DATABASE_REPLICA_STATEMENT_TIMEOUT_MS,
  })
}
