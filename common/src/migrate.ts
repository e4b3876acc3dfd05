import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { Sql } from './db'

const MIGRATION_FILE = /^(\d+)_[\w-]+\.sql$/

/**
 * Applies `dir`'s numbered `.sql` files that `schema` has not seen yet, each in its own
 * transaction. A session-level advisory lock per schema lets several instances start at
 * once: the first migrates, the others wait and then find nothing left to do.
 */
export async function migrate(sql: Sql, schema: string, dir: string): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => MIGRATION_FILE.test(f)).sort(byVersion)
  const connection = await sql.reserve()
  try {
    // Building an index on a big table, or waiting for another instance doing so, may take
    // longer than the pool's statement_timeout allows a request (reset before release). A
    // service's start-up still gives all of it 20 s (boot.ts); migrations that take longer
    // are run beforehand with `bun run migrate` or the migration Job, whose pool has no timeout.
    await connection`set statement_timeout = 0`
    await connection`select pg_advisory_lock(hashtext(${'migrate:' + schema}))`
    await connection`create schema if not exists ${connection(schema)}`
    await connection`
      create table if not exists ${connection(schema)}.schema_migrations (
        version integer primary key,
        name text not null,
        applied_at timestamptz not null default now()
      )`
    const done = new Set(
      (await connection`select version from ${connection(schema)}.schema_migrations`).map((r) => r.version as number),
    )
    const applied: string[] = []
    for (const file of files) {
      const version = Number(MIGRATION_FILE.exec(file)![1])
      if (done.has(version)) continue
      const text = await Bun.file(join(dir, file)).text()
      // A reserved connection has no `begin()`; the transaction is spelled out instead.
      await connection`begin`
      try {
        await connection.unsafe(`set local search_path to "${schema}"`)
        await connection.unsafe(text)
        await connection`insert into ${connection(schema)}.schema_migrations (version, name) values (${version}, ${file})`
        await connection`commit`
      } catch (error) {
        await connection`rollback`.catch(() => {})
        throw Object.assign(new Error(`migration ${schema}/${file} failed: ${(error as Error).message}`), { migration: true })
      }
      applied.push(file)
    }
    return applied
  } finally {
    await connection`select pg_advisory_unlock(hashtext(${'migrate:' + schema}))`.catch(() => {})
    await connection`reset statement_timeout`.catch(() => {})
    connection.release()
  }
}

function byVersion(a: string, b: string) {
  return Number(MIGRATION_FILE.exec(a)![1]) - Number(MIGRATION_FILE.exec(b)![1])
}
