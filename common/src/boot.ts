import { withoutCredentials, type BaseConfig } from './config'
import { withTimeout } from './async'
import { createDb, type DbOptions, type Sql } from './db'
import { createLogger, type Logger } from './logger'
import { migrate } from './migrate'
import { connectRedis, createRedis, type Redis } from './redis'
import { startRevocationList, type RevocationList } from './revocation'

const STARTUP_TIMEOUT_MS = 5000

export type ServiceRuntime = { log: Logger; sql: Sql; redis: Redis; revocations: RevocationList }

/**
 * What every service does before it listens: connect Postgres and Redis, apply its own
 * migrations, load the blacklist. A dependency that is not there stops start-up with one
 * line naming it (never the URL's password), not a stack trace.
 */
export async function bootService(
  service: string,
  config: BaseConfig,
  schema: string,
  migrationsDir: string,
  dbOptions: DbOptions = {},
): Promise<ServiceRuntime> {
  const log = createLogger(service, config.LOG_LEVEL)
  const sql = createDb(config.DATABASE_URL, dbOptions)
  const redis = createRedis(config.REDIS_URL, log)
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
  await connectRedis(redis, STARTUP_TIMEOUT_MS).catch((error) => fail('Redis', config.REDIS_URL, error))
  const revocations = await startRevocationList(redis, log)
  return { log, sql, redis, revocations }
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
