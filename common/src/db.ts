import postgres from 'postgres'
import { withTimeout } from './async'

export type Sql = postgres.Sql

/** A pool per process; `onnotice` silenced because migrations' IF NOT EXISTS notices are noise. */
export type DbOptions = {
  max?: number
  /**
   * Plan every statement for its actual parameters. postgres.js prepares statements, and
   * Postgres may then keep a generic plan made while a table was tiny (a sequential scan)
   * long after it has grown; for write-heavy tables that start empty this costs more than
   * the planning it saves.
   */
  customPlans?: boolean
  /** Seconds to wait for a connection; a reader that can go elsewhere (a replica's) wants a short one. */
  connectTimeoutSeconds?: number
  /** Postgres' statement_timeout for every statement of the pool (unset: none). */
  statementTimeoutMs?: number
}

export function createDb(url: string, options: DbOptions = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    connection: {
      ...(options.customPlans ? { plan_cache_mode: 'force_custom_plan' } : {}),
      ...(options.statementTimeoutMs === undefined ? {} : { statement_timeout: options.statementTimeoutMs }),
    },
    idle_timeout: 30,
    connect_timeout: options.connectTimeoutSeconds ?? 5,
    onnotice: () => {},
    transform: { undefined: null },
  })
}

/** True when Postgres answers a trivial query within the timeout. */
export async function pingDb(sql: Sql, timeoutMs = 1000): Promise<boolean> {
  try {
    await withTimeout(sql`select 1`.execute(), timeoutMs)
    return true
  } catch {
    return false
  }
}

/**
 * For the rest of the caller's transaction: no statement_timeout (DATABASE_STATEMENT_TIMEOUT_MS
 * would cancel work that may rightly run long: a table rewrite, a big cascade), and, when
 * `lockTimeoutMs` is given, a lock_timeout, so waiting for a lock stays bounded all the same.
 */
export async function liftStatementTimeout(tx: postgres.TransactionSql, lockTimeoutMs?: number): Promise<void> {
  await tx`select set_config('statement_timeout', '0', true), set_config('lock_timeout', ${String(lockTimeoutMs ?? 0)}, true)`
}

function transactionSettings(options: { genericPlan?: boolean; statementTimeoutMs?: number }): [string, string][] {
  const settings: [string, string][] = []
  if (options.genericPlan) settings.push(['plan_cache_mode', 'force_generic_plan'], ['enable_seqscan', 'off'])
  if (options.statementTimeoutMs !== undefined) settings.push(['statement_timeout', String(Math.round(options.statementTimeoutMs))])
  return settings
}

/** Postgres unique-violation (23505) on the named constraint. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const e = error as { code?: string; constraint_name?: string }
  return e?.code === '23505' && (constraint === undefined || e.constraint_name === constraint)
}

/** Postgres foreign-key violation (23503): the referenced row is gone (or never was). */
export function isForeignKeyViolation(error: unknown): boolean {
  return (error as { code?: string })?.code === '23503'
}

/**
 * One transaction in one round trip: BEGIN, the statements `build` returns and COMMIT are
 * written together on a reserved connection, and Postgres runs them in order. Each
 * statement still takes its own snapshot when it starts, so a statement after a `FOR
 * UPDATE` sees what committed while the lock was awaited, as in a transaction driven one
 * statement at a time; but no lock is held across a client round trip, so writers that
 * queue on a row lock wait only for each other's execution and commit. Only for statements
 * whose parameters do not depend on an earlier one's rows.
 *
 * Resolves with every statement's rows once committed. Rejects with the first failure:
 * Postgres then aborts the transaction, and the COMMIT sent behind it rolls it back.
 *
 * `genericPlan`: for statements that run all the time and always want the same plan:
 * planning them anew (a pool with custom plans) costs more than running them
 * (bench/store.ts). Such statements look rows up by key only, and sequential scans are
 * off for them: the plan is made once per connection and kept until the tables' statistics
 * change, and one made while a table was still small (a fresh database, before autovacuum
 * first analyzes it) would otherwise scan that table on every run as it grows (a fresh
 * database: 2.9 ms of Postgres CPU per message stored alone instead of 0.4).
 * `statementTimeoutMs`: Postgres cancels any statement of the transaction that runs longer.
 * Both are set for the transaction alone, by one statement after BEGIN.
 */
export async function runInOneRoundTrip<R extends readonly postgres.PendingQuery<any>[]>(
  sql: Sql,
  build: (connection: postgres.ReservedSql) => R,
  options: { genericPlan?: boolean; statementTimeoutMs?: number } = {},
): Promise<{ [K in keyof R]: Awaited<R[K]> }> {
  const connection = await sql.reserve()
  try {
    // Queries are lazy: nothing is sent before execute(), which hands each to the connection
    // in this order without waiting for answers (so a throwing `build` leaves no transaction open).
    const built = build(connection)
    const begin = connection`begin`.execute()
    const settings = transactionSettings(options)
    const set =
      settings.length === 0
        ? []
        : [connection`select set_config(k, v, true) from unnest(${settings.map(([k]) => k)}::text[], ${settings.map(([, v]) => v)}::text[]) as s (k, v)`.execute()]
    const statements = built.map((query) => query.execute())
    const commit = connection`commit`.execute()
    const settled = await Promise.allSettled([begin, ...set, ...statements, commit])
    const failed = settled.find((result) => result.status === 'rejected')
    if (failed !== undefined) throw failed.reason
    const committed = settled.at(-1) as PromiseFulfilledResult<postgres.RowList<postgres.Row[]>>
    if (committed.value.command !== 'COMMIT') throw new Error(`runInOneRoundTrip: the transaction ended with ${committed.value.command}`)
    return settled.slice(1 + set.length, -1).map((result) => (result as PromiseFulfilledResult<unknown>).value) as { [K in keyof R]: Awaited<R[K]> }
  } finally {
    connection.release()
  }
}
