import type { Fragment } from 'postgres'
import type { Sql } from '@chat/common/db'
import type { AuthDeps } from '../deps'

type CleanupDeps = Pick<AuthDeps, 'sql' | 'config' | 'log'>
type CountRow = { count: number }

export type SweepResult = { sessions: number; refreshTokens: number; revocations: number; emailTokens: number; mfaChallenges: number }

/**
 * Deletes what no check needs any more: sessions that expired or were revoked (their
 * revocation lives on in auth.revocations; their refresh tokens go with them), spent
 * refresh tokens older than the reuse-detection retention, revocations whose access
 * tokens have all expired, and mailed tokens (verification, reset) and two-factor login
 * challenges past their expiry, used or not. Safe on several instances at once: every
 * delete is idempotent and takes a batch of rows no other sweep holds (`skip locked`), so
 * sweeps share the work instead of waiting on each other.
 */
export async function sweepExpired(deps: CleanupDeps): Promise<SweepResult> {
  const { sql, config } = deps
  const sweep = (table: string, key: string, ended: Fragment) => deleteInBatches(sql, table, key, ended, config.CLEANUP_BATCH_SIZE)
  return {
    sessions: await sweep('auth.sessions', 'id', sql`expires_at <= now() or revoked_at is not null`),
    refreshTokens: await sweep('auth.refresh_tokens', 'token_hash', sql`spent_at < now() - make_interval(hours => ${config.SPENT_REFRESH_TOKEN_RETENTION_HOURS})`),
    revocations: await sweep('auth.revocations', 'session_id', sql`expires_at <= now()`),
    emailTokens: await sweep('auth.email_tokens', 'token_hash', sql`expires_at <= now()`),
    mfaChallenges: await sweep('auth.mfa_challenges', 'token_hash', sql`expires_at <= now()`),
  }
}

/** Deletes the table's `ended` rows a batch at a time until a batch comes back short; returns the rows deleted. */
async function deleteInBatches(sql: Sql, table: string, key: string, ended: Fragment, batch: number): Promise<number> {
  let total = 0
  for (;;) {
    const [{ count }] = await sql<CountRow[]>`
      with gone as (
        delete from ${sql(table)} where ${sql(key)} in (
          select ${sql(key)} from ${sql(table)} where ${ended}
          limit ${batch} for update skip locked)
        returning 1)
      select count(*)::int as count from gone`
    total += count
    if (count < batch) return total
  }
}

/**
 * Sweeps CLEANUP_INTERVAL_SECONDS after the previous sweep ended (never two at once in one
 * process); a failed sweep is logged and the next one tries again.
 */
export function startCleanupJob(deps: CleanupDeps): { stop(): void } {
  let timer: Timer
  let stopped = false
  const schedule = () => {
    if (stopped) return
    timer = setTimeout(sweepOnce, deps.config.CLEANUP_INTERVAL_SECONDS * 1000)
    timer.unref()
  }
  const sweepOnce = async () => {
    try {
      const swept = await sweepExpired(deps)
      if (Object.values(swept).some((count) => count > 0)) deps.log.info('cleanup', swept)
    } catch (error) {
      deps.log.warn('cleanup failed', { error })
    }
    schedule()
  }
  schedule()
  return {
    stop() {
      stopped = true
      clearTimeout(timer)
    },
  }
}
