import type { Sql } from '@chat/common/db'

/**
 * Runs `during` while `table` ("schema.name") is locked in ACCESS EXCLUSIVE mode by another
 * transaction, as a stuck transaction or a scan of a huge table would hold it; `during`
 * starts only once the lock is taken, and the lock goes when it ends, whatever its outcome.
 */
export async function whileLocked<T>(sql: Sql, table: string, during: () => Promise<T>): Promise<T> {
  let release = () => {}
  let locked = () => {}
  const lockTaken = new Promise<void>((resolve) => (locked = resolve))
  const [schema, name] = table.split('.')
  const held = sql.begin(async (tx) => {
    await tx`lock table ${tx(schema)}.${tx(name)} in access exclusive mode`
    locked()
    await new Promise<void>((resolve) => (release = resolve))
  })
  try {
    // A failure to take the lock (a wrong table name) ends the wait too.
    await Promise.race([lockTaken, held])
    return await during()
  } finally {
    release()
    await held
  }
}
