import { withoutCredentials, type BaseConfig } from './config'
import { withTimeout } from './async'
import { createDb, type DbOptions, type Sql } from './db'
import { createLogger, type Logger } from './logger'
import { migrate } from './migrate'
import { resolveInternalToken } from './dev-secrets'
import { callInternal } from './internal'
import { connectRedis, createRedis, describeRedisTarget, redisTarget, type Redis } from './redis'
import { startRevocationList, type RevocationList, type RevokedSession } from './revocation'

const STARTUP_TIMEOUT_MS = 5000

export type ServiceRuntime = { log: Logger; sql: Sql; redis: Redis; revocations: RevocationList }

export type BootOptions = DbOptions & {
  /**
   * Where the revocations in force come from. The auth service reads its own table; every
   * other service leaves this out and asks auth's internal route.
   */
  loadRevocations?: (sql: Sql) => Promise<RevokedSession[]>
}

/** Auth's internal route listing the revocations in force (Postgres is their source of truth). */
export const REVOCATIONS_PATH = '/internal/revocations'

/**
 * What every service does before it listens: connect Postgres and Redis, apply its own
 * migrations, load the blacklist (from Redis and from its source of truth, auth's
 * Postgres). A dependency that is not there stops start-up with one line naming it (never
 * the URL's password), not a stack trace.
 */
export async function bootService(
  service: string,
  config: BaseConfig,
  schema: string,
  migrationsDir: string,
  options: BootOptions = {},
): Promise<ServiceRuntime> {
  const { loadRevocations, ...dbOptions } = options
  const log = createLogger(service, config.LOG_LEVEL)
  const sql = createDb(config.DATABASE_URL, { statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS, ...dbOptions })
  const redisAt = redisTarget(config)
  const redis = createRedis(redisAt, log)
  const fail = (what: string, url: string, error: unknown): never => {
    // A server's own refusal (a Postgres SQLSTATE such as 42501) says more in words than
    // in its code; a connection failure is named by its code.
    const { code, message } = (error ?? {}) as { code?: string; message?: string }
    const reason = code === undefined || /^[0-9A-Z]{5}$/.test(code) ? (message ?? String(error)) : code
    console.error(`${service}: cannot use ${what} at ${withoutCredentials(url)} (${reason})`)
    process.exit(1)
  }
  const applied = await withTimeout(migrate(sql, schema, migrationsDir), STARTUP_TIMEOUT_MS * 4).catch((error) => {
    if ((error as { migration?: boolean }).migration) {
      console.error(`${service}: ${(error as Error).message}`)
      process.exit(1)
    }
    return fail('Postgres', config.DATABASE_URL, error)
  })
  if (applied.length > 0) log.info('migrations applied', { schema, applied })
  await connectRedis(redis, STARTUP_TIMEOUT_MS).catch((error) => fail('Redis', describeRedisTarget(redisAt), error))
  const revocations = await startRevocationList(redis, log, {
    prefix: config.REDIS_PREFIX,
    loadDurable: loadRevocations === undefined ? revocationsFromAuth(config) : () => loadRevocations(sql),
    firstLoadTimeoutMs: config.REVOCATION_FIRST_LOAD_TIMEOUT_MS,
    retryMs: config.REVOCATION_RELOAD_RETRY_MS,
    resyncMs: config.REVOCATION_RESYNC_INTERVAL_MS,
  })
  return { log, sql, redis, revocations }
}

/** Services other than auth read the revocations in force from auth's internal route. */
function revocationsFromAuth(config: BaseConfig): () => Promise<RevokedSession[]> {
  const internalToken = resolveInternalToken(config)
  return async () => {
    const result = await callInternal<RevokedSession[]>(config.AUTH_INTERNAL_URL, internalToken, 'GET', REVOCATIONS_PATH)
    if (!result.ok) throw new Error(result.reason === 'unreachable' ? 'auth is unreachable' : `auth answered ${result.status}`)
    return result.data
  }
}

/** Stops accepting, lets in-flight requests finish, then closes the pools. */
export function stopOnSignals(runtime: ServiceRuntime, stopServer: () => Promise<void> | void) {
  let stopping = false
  const stop = async (signal: string) => {
    // Ctrl-C reaches the whole process group, and `bun run dev` then sends SIGTERM as well:
    // a second stop would fail on the stopped server and leave the process hanging.
    if (stopping) return
    stopping = true
    runtime.log.info('stopping', { signal })
    await stopServer()
    await runtime.revocations.stop()
    await Promise.allSettled([runtime.sql.end({ timeout: 5 }), runtime.redis.quit()])
    process.exit(0)
  }
  process.once('SIGTERM', () => void stop('SIGTERM'))
  process.once('SIGINT', () => void stop('SIGINT'))
}
