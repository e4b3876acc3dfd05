import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { BaseConfig } from '@chat/common/config'
import { createDb } from '@chat/common/db'
import { migrate } from '@chat/common/migrate'
import { SERVICE_DEFAULTS } from '@chat/common/ports'
import { REPO_ROOT } from './stack'

/** Every service's schema and its migrations folder; each service also applies its own at start-up. */
const SCHEMAS = Object.entries(SERVICE_DEFAULTS).map(([service, { schema }]) => ({ schema, dir: `${service}/migrations` }))

type MigrationReport = { schema: string; applied: string[] }

/** Applies what each schema has not seen yet; a service without a migrations folder is skipped. */
async function migrateAll(databaseUrl: string): Promise<MigrationReport[]> {
  const sql = createDb(databaseUrl, { max: 1 })
  try {
    const reports: MigrationReport[] = []
    for (const { schema, dir } of SCHEMAS) {
      const folder = join(REPO_ROOT, dir)
      if (!existsSync(folder)) continue
      reports.push({ schema, applied: await migrate(sql, schema, folder) })
    }
    return reports
  } finally {
    await sql.end({ timeout: 5 })
  }
}

function describeMigrations(reports: MigrationReport[]): string[] {
  return reports.map(({ schema, applied }) => (applied.length === 0 ? `${schema}: up to date` : `${schema}: applied ${applied.join(', ')}`))
}

const databaseUrl = process.env.DATABASE_URL || BaseConfig.properties.DATABASE_URL.default
try {
  for (const line of describeMigrations(await migrateAll(databaseUrl))) console.log(line)
} catch (error) {
  console.error(`migrate: ${(error as Error).message ?? error}`)
  process.exit(1)
}
