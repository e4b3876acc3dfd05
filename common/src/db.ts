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

/** Postgres unique-violation (23505) on the named constraint. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  const e = error as { code?: string; constraint_name?: string }
  return e?.code === '23505' && (constraint === undefined || e.constraint_name === constraint)
}

/** Postgres foreign-key violation (23503): the referenced row is gone (or never was). */
export function isForeignKeyViolation(error: unknown): boolean {
  return (error as { code?: string })?.code === '23503'
}
