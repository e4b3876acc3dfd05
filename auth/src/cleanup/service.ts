import type { AuthDeps } from '../deps'

type CleanupDeps = Pick<AuthDeps, 'sql' | 'config' | 'log'>
type CountRow = { count: number }

export type SweepResult = { sessions: number; refreshTokens: number; revocations: number; emailTokens: number }

/**
 * Deletes what no check needs any more: sessions that expired or were revoked (their
 * revocation lives on in auth.revocations; their refresh tokens go with them), spent
 * refresh tokens older than the reuse-detection retention, and revocations whose access
 * tokens have all expired, and mailed tokens (verification, reset) past their expiry, used
 * or not. Safe on several instances at once: every delete is idempotent
 * and takes a batch of rows no other sweep holds (`skip locked`), so sweeps share the work
 * instead of waiting on each other.
 */
export async function sweepExpired(deps: CleanupDeps): Promise<SweepResult> {
  const { sql, config } = deps
  const batch = config.CLEANUP_BATCH_SIZE
  const sessions = await deleteInBatches(
    () => sql<CountRow[]>`
      with gone as (
        delete from auth.sessions where id in (
          select id from auth.sessions where expires_at <= now() or revoked_at is not null
          limit ${batch} for update skip locked)
        returning 1)
      select count(*)::int as count from gone`,
    batch,
  )
  const refreshTokens = await deleteInBatches(
    () => sql<CountRow[]>`
      with gone as (
        delete from auth.refresh_tokens where token_hash in (
          select token_hash from auth.refresh_tokens
          where spent_at < now() - make_interval(hours => ${config.SPENT_REFRESH_TOKEN_RETENTION_HOURS})
          limit ${batch} for update skip locked)
        returning 1)
      select count(*)::int as count from gone`,
    batch,
  )
  const revocations = await deleteInBatches(
    () => sql<CountRow[]>`
      with gone as (
        delete from auth.revocations where session_id in (
          select session_id from auth.revocations where expires_at <= now()
          limit ${batch} for update skip locked)
        returning 1)
      select count(*)::int as count from gone`,
    batch,
  )
  const emailTokens = await deleteInBatches(
    () => sql<CountRow[]>`
      with gone as (
        delete from auth.email_tokens where token_hash in (
          select token_hash from auth.email_tokens where expires_at <= now()
          limit ${batch} for update skip locked)
        returning 1)
      select count(*)::int as count from gone`,
    batch,
  )
  return { sessions, refreshTokens, revocations, emailTokens }
}

/** Runs one batched delete until a batch comes back short; returns the rows deleted. */
async function deleteInBatches(deleteBatch: () => Promise<CountRow[]>, batch: number): Promise<number> {
  let total = 0
  for (;;) {
    const [{ count }] = await deleteBatch()
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
      if (swept.sessions + swept.refreshTokens + swept.revocations + swept.emailTokens > 0) deps.log.info('cleanup', swept)
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
