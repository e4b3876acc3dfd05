import type { ReservedSql } from 'postgres'
import { withTimeout } from '@chat/common/async'
import { createDb, type Sql } from '@chat/common/db'
import { refusedByPostgres } from '@chat/common/errors'
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
  forRoom<T>(roomId: string, minSeq: number, read: (sql: Sql) => Promise<T>, options?: ReadOptions): Promise<T>
  /**
   * Runs `read` on the replica when it lags by at most `maxLagMs` (else, or when it fails or
   * none is set, on the primary), for reads whose answer may be a little stale (search:
   * which messages match). Checked the same way as `forRoom`, in the same round trip. The
   * caller learns which database answered, to check against the primary what must be current.
   */
  withinLag<T>(maxLagMs: number, read: (sql: Sql) => Promise<T>): Promise<{ value: T; fromReplica: boolean }>
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

/**
 * `snapshot`: the check and every statement of `read` see one snapshot (a read-only
 * repeatable-read transaction), for a read that must say exactly which changes it includes
 * (a history page and the room's `last_seq` it reflects).
 */
export type ReadOptions = { snapshot?: boolean }

const SNAPSHOT = 'isolation level repeatable read read only'

type Outcome<T> = { state: 'current'; value: T } | { state: 'behind' } | { state: 'failed'; error: unknown }

/**
 * On one reserved replica connection: `isCurrent`'s statement, and `read` sent right behind
 * it (pipelined, so in one round trip). The standby runs them in that order and its state
 * only moves forward, so whatever `isCurrent` found, `read` saw at least as much.
 */
async function readIfCurrent<T>(replica: Sql, isCurrent: (sql: Sql) => Promise<boolean>, read: (sql: Sql) => Promise<T>, options: ReadOptions): Promise<Outcome<T>> {
  let connection: ReservedSql
  try {
    connection = await replica.reserve()
  } catch (error) {
    return { state: 'failed', error }
  }
  // `begin` on a reserved connection would take another pool connection, so the snapshot's
  // transaction is written out here, pipelined in front of the check on this connection.
  const began = options.snapshot === true ? connection.unsafe(`begin ${SNAPSHOT}`) : Promise.resolve([])
  const checking = isCurrent(connection)
  const reading = read(connection)
  // Released once all are done, also when the answer is not waited for (replica behind).
  void Promise.allSettled([began, checking, reading])
    .then(() => (options.snapshot === true ? connection.unsafe('rollback') : null))
    .catch(() => null)
    .finally(() => connection.release())
  try {
    if (!(await checking)) return { state: 'behind' }
    return { state: 'current', value: await reading }
  } catch (error) {
    return { state: 'failed', error }
  }
}

/** The replica's copy of the room has reached `minSeq` (an unknown room has not). */
const roomReached = (roomId: string, minSeq: number) => async (sql: Sql) => {
  const [row] = await sql<{ last_seq: string }[]>`select last_seq from chat.rooms where id = ${roomId}`
  return row !== undefined && Number(row.last_seq) >= minSeq
}

/**
 * The replica lags by at most `maxLagMs`: it has applied all the WAL it received, or the
 * last commit it applied is that recent (by the primary's clock: with replay paused or far
 * behind, that commit gets older and older). And it is receiving at all: a standby cut off
 * from its primary has applied everything it received, but receives nothing (its WAL
 * receiver is gone; its row in pg_stat_wal_receiver is visible to every role).
 */
const lagWithin = (maxLagMs: number) => async (sql: Sql) => {
  const [row] = await sql<{ current: boolean }[]>`
    select exists (select 1 from pg_stat_wal_receiver) and (
      pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
      or pg_last_xact_replay_timestamp() >= now() - make_interval(secs => ${maxLagMs / 1000})
    ) is true as current`
  return row.current
}

/** With no replica configured every read goes to the primary, so callers never ask whether there is one. */
export function createReplicaReads(primary: Sql, replica: Sql | null, options: { retryMs: number; statementTimeoutMs: number; log: Logger }): ReplicaReads {
  const health = createReplicaHealth(options.retryMs)
  const backstopMs = options.statementTimeoutMs * BACKSTOP_FACTOR
  const onPrimary = <T>(reason: 'behind' | 'unavailable' | 'no_replica', read: (sql: Sql) => Promise<T>, options: ReadOptions = {}): Promise<T> => {
    replicaReads.inc({ source: 'primary', reason })
    // A transaction's handle has what a read uses (tagged queries, fragments), not the pool's controls.
    return options.snapshot === true ? (primary.begin(SNAPSHOT, (tx) => read(tx as unknown as Sql)) as Promise<T>) : read(primary)
  }
  const replicaFailed = (error: unknown) => {
    if (health.failed()) options.log.warn('replica read failed; reading from the primary until it answers again', { error, retryMs: options.retryMs })
  }
  const replicaAnswered = () => {
    if (health.succeeded()) options.log.info('replica answers again')
  }
  const onReplicaIfCurrent = async <T>(standby: Sql, isCurrent: (sql: Sql) => Promise<boolean>, read: (sql: Sql) => Promise<T>, options: ReadOptions = {}) => {
    const outcome = await withTimeout(readIfCurrent(standby, isCurrent, read, options), backstopMs).catch((error): Outcome<never> => ({ state: 'failed', error }))
    if (outcome.state === 'failed') {
      // A statement refused for its data is no sign of a sick replica: the primary would refuse it too.
      if (refusedByPostgres(outcome.error)) throw outcome.error
      replicaFailed(outcome.error)
      return { value: await onPrimary('unavailable', read, options), fromReplica: false }
    }
    replicaAnswered()
    if (outcome.state === 'behind') return { value: await onPrimary('behind', read, options), fromReplica: false }
    replicaReads.inc({ source: 'replica', reason: 'current' })
    return { value: outcome.value, fromReplica: true }
  }

  return {
    async forRoom(roomId, minSeq, read, options = {}) {
      if (replica === null) return onPrimary('no_replica', read, options)
      if (!health.tryUse()) return onPrimary('unavailable', read, options)
      return (await onReplicaIfCurrent(replica, roomReached(roomId, minSeq), read, options)).value
    },
    async withinLag(maxLagMs, read) {
      if (replica === null) return { value: await onPrimary('no_replica', read), fromReplica: false }
      if (!health.tryUse()) return { value: await onPrimary('unavailable', read), fromReplica: false }
      return onReplicaIfCurrent(replica, lagWithin(maxLagMs), read)
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
