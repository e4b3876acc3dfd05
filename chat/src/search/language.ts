import { liftStatementTimeout, type Sql } from '@chat/common/db'
import type { Logger } from '@chat/common/logger'
import type { SearchLanguage } from '../config'

/** The generated column's expression as Postgres prints it ends with the stemmed half. */
const stemmedHalf = (language: SearchLanguage) => `to_tsvector('${language}'::regconfig, body))`

/** The search index as migrations 004 and 005 left it: without a pending list (see 005). For whatever drops and rebuilds it. */
export const CREATE_SEARCH_INDEX = 'create index messages_search on chat.messages using gin (search_vector) with (fastupdate = off)'

/**
 * Makes the stored search vectors (migration 004) stem in SEARCH_LANGUAGE. A stored vector
 * cannot follow a setting by itself, so when the setting changes the column is rebuilt
 * once, at start-up: a table rewrite that holds writes to messages while it runs (minutes
 * on millions of rows; plan it like a migration). Under the migration lock, so several
 * instances starting together rebuild it once. `language` comes from a closed list
 * (config.ts), which is why it may be written into the statement.
 */
export async function ensureSearchLanguage(sql: Sql, language: SearchLanguage, log: Logger): Promise<'unchanged' | 'rebuilt'> {
  const current = async (tx: Sql) => {
    const [row] = await tx<{ expression: string }[]>`
      select pg_get_expr(d.adbin, d.adrelid) as expression
      from pg_attrdef d join pg_attribute a on a.attrelid = d.adrelid and a.attnum = d.adnum
      where d.adrelid = 'chat.messages'::regclass and a.attname = 'search_vector'`
    return row?.expression ?? ''
  }
  if ((await current(sql)).endsWith(stemmedHalf(language))) return 'unchanged'
  const rebuilt = await sql.begin(async (tx) => {
    // Rewrites every message: as long as a migration may take.
    await liftStatementTimeout(tx)
    await tx`select pg_advisory_xact_lock(hashtext('migrate:chat'))`
    if ((await current(tx as unknown as Sql)).endsWith(stemmedHalf(language))) return false
    await tx.unsafe(`
      alter table chat.messages drop column search_vector,
        add column search_vector tsvector
        generated always as (to_tsvector('simple'::regconfig, body) || to_tsvector('${language}'::regconfig, body)) stored`)
    await tx.unsafe(CREATE_SEARCH_INDEX)
    return true
  })
  if (rebuilt) log.info('search vectors rebuilt for SEARCH_LANGUAGE', { language })
  return rebuilt ? 'rebuilt' : 'unchanged'
}
