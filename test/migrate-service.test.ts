import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import postgres from 'postgres'
import { BaseConfig } from '../common/src/config'
import { SERVICE_DEFAULTS } from '../common/src/ports'
import { dropTestDatabase } from './harness'
import { REPO_ROOT, SERVICE_NAMES, type ServiceName } from '../scripts/stack'

/**
 * common/src/migrate-service.ts, the migration Job's command in every image: it migrates the
 * schema of the service named by SERVICE, against the machine's real Postgres, in a database
 * of its own.
 */

const ENTRY = join(REPO_ROOT, 'common/src/migrate-service.ts')
const BASE_DATABASE_URL = process.env.TEST_DATABASE_URL ?? BaseConfig.properties.DATABASE_URL.default
const MIGRATION_FILE = /^(\d+)_[\w-]+\.sql$/

let databaseUrl: string

beforeAll(async () => {
  // The test stacks' prefix, so a database left by a killed run is dropped by their clean-up.
  const name = `chat_test_${Math.floor(Date.now() / 1000)}_${crypto.randomUUID().slice(0, 8)}`
  const admin = postgres(BASE_DATABASE_URL, { max: 1, onnotice: () => {} })
  try {
    await admin.unsafe(`create database "${name}"`)
  } finally {
    await admin.end()
  }
  const url = new URL(BASE_DATABASE_URL)
  url.pathname = `/${name}`
  databaseUrl = url.toString()
})

afterAll(async () => {
  if (databaseUrl !== undefined) await dropTestDatabase(databaseUrl)
})

async function runEntry(env: Record<string, string>) {
  const child = Bun.spawn({
    cmd: [process.execPath, ENTRY],
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_ENV: 'production', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const [exitCode, stdout, stderr] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()])
  return { exitCode, stdout: stdout.trim().split('\n').filter(Boolean), stderr: stderr.trim().split('\n').filter(Boolean) }
}

function migrationFiles(service: ServiceName): string[] {
  return readdirSync(join(REPO_ROOT, service, 'migrations'))
    .filter((file) => MIGRATION_FILE.test(file))
    .sort((a, b) => Number(MIGRATION_FILE.exec(a)![1]) - Number(MIGRATION_FILE.exec(b)![1]))
}

describe('the migration entry point of the images', () => {
  test("migrates the schema of the service SERVICE names, with that service's files, once", async () => {
    const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} })
    try {
      for (const service of SERVICE_NAMES) {
        const { schema } = SERVICE_DEFAULTS[service]
        expect(await runEntry({ SERVICE: service, DATABASE_URL: databaseUrl })).toEqual({ exitCode: 0, stdout: [`${schema}: applied ${migrationFiles(service).join(', ')}`], stderr: [] })
        const recorded = await sql`select name from ${sql(schema)}.schema_migrations order by version`
        expect(recorded.map((row) => row.name as string)).toEqual(migrationFiles(service))
      }
    } finally {
      await sql.end()
    }
  })

  test('a second run finds every schema up to date', async () => {
    for (const service of SERVICE_NAMES) {
      expect(await runEntry({ SERVICE: service, DATABASE_URL: databaseUrl })).toEqual({ exitCode: 0, stdout: [`${SERVICE_DEFAULTS[service].schema}: up to date`], stderr: [] })
    }
  })

  test('an unknown SERVICE stops it with one line naming the services, before it touches Postgres', async () => {
    const result = await runEntry({ SERVICE: 'billing', DATABASE_URL: databaseUrl })
    expect(result).toEqual({ exitCode: 1, stdout: [], stderr: [`migrate: SERVICE must be one of ${SERVICE_NAMES.join(', ')}`] })
  })

  test('Postgres out of reach stops it with one line that names the server but not the password', async () => {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    const result = await runEntry({ SERVICE: 'auth', DATABASE_URL: 'postgres://chat:s3cret-pw@127.0.0.1:1/chat' })
    expect(result.exitCode).toBe(1)
    expect(result.stderr).toHaveLength(1)
    expect(result.stderr[0]).toStartWith('migrate: cannot use Postgres at postgres://127.0.0.1:1/chat')
    expect(result.stderr.join('\n')).not.toContain('s3cret-pw')
  })
})
