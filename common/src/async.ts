/**
 * Rejects with a `CONNECT_TIMEOUT`-coded error when `promise` has not settled in `ms`.
 * It abandons the promise, it does not cancel the work behind it: around a database
 * statement, pair it with Postgres' own `statement_timeout`, which does.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: Timer
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`timed out after ${ms} ms`), { code: 'CONNECT_TIMEOUT' })), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
