/**
 * Applies one service's migrations and exits: what `bun run migrate` does, for the service
 * named by SERVICE (set in each image by the Dockerfile), with only the files that image
 * holds. The Kubernetes migration Job runs it once per image before a rollout; the services
 * still migrate at start-up too (under the same advisory lock), but bounded by their start-up
 * timeout, which a long migration would outlast.
 */
import { join } from 'node:path'
import { BaseConfig, loadConfig, withoutCredentials } from './config'
import { createDb } from './db'
import { migrate } from './migrate'
import { SERVICE_DEFAULTS, type ServiceName } from './ports'

const service = process.env.SERVICE
if (service === undefined || !(service in SERVICE_DEFAULTS)) {
  console.error(`migrate: SERVICE must be one of ${Object.keys(SERVICE_DEFAULTS).join(', ')}`)
  process.exit(1)
}
const { schema } = SERVICE_DEFAULTS[service as ServiceName]
const config = loadConfig(BaseConfig)
const sql = createDb(config.DATABASE_URL, { max: 1 })
try {
  const applied = await migrate(sql, schema, join(import.meta.dir, '..', '..', service, 'migrations'))
  console.log(applied.length === 0 ? `${schema}: up to date` : `${schema}: applied ${applied.join(', ')}`)
} catch (error) {
  const { migration, message } = error as { migration?: boolean; message?: string }
  console.error(migration ? `migrate: ${message}` : `migrate: cannot use Postgres at ${withoutCredentials(config.DATABASE_URL)} (${message ?? error})`)
  process.exitCode = 1
} finally {
  await sql.end({ timeout: 5 })
}
