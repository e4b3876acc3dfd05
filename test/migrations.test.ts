import { afterAll, beforeAll, expect, test } from 'bun:test'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import postgres from 'postgres'
import { REPO_ROOT, SERVICES, type Instance } from '../scripts/stack'
import { startTestStack, type TestStack } from './harness'
import { waitUntil } from './wait'

/**
 * Several instances of a service may start at the same moment against a database nobody
 * has migrated yet: exactly one applies the migrations, the others wait for it, and all
 * of them become ready.
 */

/** bunfig's test timeout does not cover hooks (they get 5 s); starting or stopping a stack can take longer on a busy machine. */
const STACK_HOOK_TIMEOUT_MS = 60_000

const SCHEMAS = { auth: 'auth', user: 'users' } as const
type MigratingService = keyof typeof SCHEMAS
const MIGRATION_FILE = /^(\d+)_[\w-]+\.sql$/
/** How long the test waits for every racing instance to queue on the migration lock. */
const QUEUE_TIMEOUT_MS = 15_000

function migrationFiles(service: MigratingService): { version: number; name: string }[] {
  return readdirSync(join(REPO_ROOT, service, 'migrations'))
    .filter((file) => MIGRATION_FILE.test(file))
    .map((file) => ({ version: Number(MIGRATION_FILE.exec(file)![1]), name: file }))
    .sort((a, b) => a.version - b.version)
}

async function recordedMigrations(sql: postgres.Sql, service: MigratingService) {
  return sql`select version, name, applied_at from ${sql(SCHEMAS[service])}.schema_migrations order by version, applied_at`
}

/** The `applied` lists an instance logged at start-up (`migrations applied`), one per batch. */
function appliedBy(instance: Instance): string[][] {
  return readFileSync(instance.child.logFile!, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg?: string; applied?: string[] })
    .filter((entry) => entry.msg === 'migrations applied')
    .map((entry) => entry.applied ?? [])
}

async function isReady(instance: Instance): Promise<boolean> {
  const response = await fetch(`${instance.url}${SERVICES[instance.service].prefix}/ready`)
  await response.arrayBuffer()
  return response.status === 200
}

let stack: TestStack

beforeAll(async () => {
  // The harness starts both auth instances at once, then both user instances at once.
  stack = await startTestStack({ auth: 2, user: 2, caddy: false, env: { LOG_LEVEL: 'info' } })
}, STACK_HOOK_TIMEOUT_MS)

afterAll(async () => {
  await stack?.stop()
}, STACK_HOOK_TIMEOUT_MS)

test('two auth and two user instances started at once on a fresh database all become ready, with each migration recorded once', async () => {
  const instances = [...stack.instancesOf('auth'), ...stack.instancesOf('user')]
  expect(instances).toHaveLength(4)
  expect(await Promise.all(instances.map(isReady))).toEqual([true, true, true, true])

  for (const service of ['auth', 'user'] as const) {
    const files = migrationFiles(service)
    const recorded = await recordedMigrations(stack.sql, service)
    expect(recorded.map((row) => ({ version: row.version, name: row.name }))).toEqual(files)
    // Exactly one instance of the service did the work, and it applied every file.
    const batches = stack.instancesOf(service).flatMap(appliedBy)
    expect(batches).toEqual([files.map((file) => file.name)])
  }
})

test('a user instance started later on a migrated database applies nothing and is ready', async () => {
  const before = await recordedMigrations(stack.sql, 'user')
  const late = await stack.startInstance('user')
  expect(await isReady(late)).toBe(true)
  expect(appliedBy(late)).toEqual([])
  expect([...(await recordedMigrations(stack.sql, 'user'))]).toEqual([...before])
})

test('instances racing for the migration lock at the same moment apply each migration exactly once', async () => {
  // Process start-up jitter can let one instance finish migrating before the next one even
  // connects, which would pass without any lock. Holding the lock until all four are queued
  // on it makes them race for real once it is released.
  const admin = postgres(stack.databaseUrl.replace(/\/[^/]*$/, '/postgres'), { max: 1, onnotice: () => {} })
  const name = `chat_test_${Math.floor(Date.now() / 1000)}_${crypto.randomUUID().slice(0, 8)}`
  await admin.unsafe(`create database "${name}"`)
  const databaseUrl = stack.databaseUrl.replace(/\/[^/]*$/, `/${name}`)
  const sql = postgres(databaseUrl, { max: 2, onnotice: () => {} })
  const holder = await sql.reserve()
  const started: Instance[] = []
  try {
    for (const schema of Object.values(SCHEMAS)) await holder`select pg_advisory_lock(hashtext(${'migrate:' + schema}))`
    const starting = Promise.all(
      (['auth', 'auth', 'user', 'user'] as const).map((service) =>
        stack.startInstance(service, { env: { DATABASE_URL: databaseUrl } }).then((instance) => (started.push(instance), instance)),
      ),
    )
    // Awaited below; if an expectation fails first, its rejection must not go unhandled.
    starting.catch(() => {})

    // pg_locks spans the whole server, where other test files may be migrating too.
    const queued = async () => {
      const [{ count }] = await sql`
        select count(*)::int from pg_locks
        where locktype = 'advisory' and not granted and database = (select oid from pg_database where datname = current_database())`
      return count as number
    }
    await waitUntil(async () => (await queued()) === 4, { message: 'all four instances wait for the migration lock', timeoutMs: QUEUE_TIMEOUT_MS })
    for (const schema of Object.values(SCHEMAS)) await holder`select pg_advisory_unlock(hashtext(${'migrate:' + schema}))`

    const racers = await starting
    expect(await Promise.all(racers.map(isReady))).toEqual([true, true, true, true])
    for (const service of ['auth', 'user'] as const) {
      const files = migrationFiles(service)
      const recorded = await recordedMigrations(sql, service)
      expect(recorded.map((row) => ({ version: row.version, name: row.name }))).toEqual(files)
      expect(racers.filter((instance) => instance.service === service).flatMap(appliedBy)).toEqual([files.map((file) => file.name)])
    }
  } finally {
    holder.release()
    await Promise.all(started.map((instance) => stack.kill(instance, 'SIGTERM')))
    await sql.end({ timeout: 5 })
    await admin.unsafe(`drop database if exists "${name}" with (force)`)
    await admin.end()
  }
})
