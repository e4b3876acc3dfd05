import { chown, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { existsSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { spawnChild, type Child } from './child'
import { findFreePorts, waitFor } from './net'
import { removeStaleWorkDirs } from './work-dirs'

/**
 * A throwaway primary and its streaming replica, made from the machine's PostgreSQL
 * binaries for one test file or bench. The machine's own server cannot be used: its pg_hba.conf has
 * no `replication` line, and a physical replica copies the whole cluster (every other test
 * run's databases with it). So: `initdb` in a temporary folder, the primary on a free
 * loopback port (wal_level=replica), `pg_basebackup -R` from it, the standby on another
 * port. As root, every binary runs as the `postgres` user (Postgres refuses root).
 */

/** Where Debian/Ubuntu put the server binaries (`postgresql-<major>`); TEST_POSTGRES_BIN overrides. */
const DEBIAN_POSTGRES_DIR = '/usr/lib/postgresql'
const WORK_DIR_PREFIX = 'chat-pg-replica-'
/** A killed run's folder is removed by a later one, once surely unused. */
const STALE_WORK_DIR_MS = 60 * 60 * 1000
/** initdb, a base backup or a start on a loaded 2-core machine: seconds; this means stuck. */
const STEP_TIMEOUT_MS = 30_000
/** Fast shutdown (SIGINT) ends sessions at once; then SIGKILL. */
const STOP_GRACE_MS = 5000
/**
 * For a test only: no fsync, small memory. `synchronous_commit` stays on, and the replica
 * is asynchronous, as in production: commits never wait for it, so it does lag.
 */
const SERVER_SETTINGS = [
  'listen_addresses=127.0.0.1',
  // No Unix socket: it could clash with the machine's server.
  'unix_socket_directories=',
  'fsync=off',
  'full_page_writes=off',
  'shared_buffers=32MB',
  'max_connections=60',
  'wal_level=replica',
  'max_wal_senders=4',
  'hot_standby=on',
]

export type PostgresReplica = {
  /** The primary's `postgres` database, e.g. postgres://postgres@127.0.0.1:41234/postgres. */
  primaryUrl: string
  /** Known at once; the replica answers there once `replicaStarted` has resolved. */
  replicaUrl: string
  /**
   * The base backup and the replica's start, under way when `startPostgresReplica` returns
   * (so a caller can set up the primary meanwhile: what it writes streams over). Rejects
   * when they fail; await it before relying on the replica.
   */
  replicaStarted: Promise<void>
  /** Stops the replica alone (fast shutdown), as if it had gone down. */
  stopReplica(): Promise<void>
  /** Starts it again on the same port; it catches up by streaming. Resolves when it accepts reads. */
  startReplica(): Promise<void>
  /**
   * SIGSTOPs the replica's processes (the postmaster and every backend): it keeps its
   * connections open and answers nothing, as a frozen host or a cut network does.
   */
  freezeReplica(): void
  /** SIGCONTs them: it answers again (stopping the servers thaws it too). */
  thawReplica(): void
  /** Stops both servers and removes their folder. */
  stop(): Promise<void>
}

function binDir(): string {
  if (process.env.TEST_POSTGRES_BIN !== undefined) return process.env.TEST_POSTGRES_BIN
  const majors = existsSync(DEBIAN_POSTGRES_DIR) ? readdirSync(DEBIAN_POSTGRES_DIR).filter((name) => /^\d+$/.test(name)) : []
  if (majors.length === 0) throw new Error(`No PostgreSQL server binaries under ${DEBIAN_POSTGRES_DIR}; set TEST_POSTGRES_BIN`)
  return join(DEBIAN_POSTGRES_DIR, String(Math.max(...majors.map(Number))), 'bin')
}

/** The postgres user's uid and gid when we are root (Postgres refuses to run as root), else null. */
function postgresUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null
  const id = (flag: string) => Number(Bun.spawnSync(['id', flag, 'postgres']).stdout.toString().trim())
  const [uid, gid] = [id('-u'), id('-g')]
  if (!Number.isInteger(uid) || uid === 0) throw new Error('Running as root needs a `postgres` user to run PostgreSQL as')
  return { uid, gid }
}

/** `settings`: more `name=value` server settings for both, e.g. `shared_preload_libraries=pg_stat_statements` (a bench counting statements). */
export async function startPostgresReplica(options: { settings?: string[] } = {}): Promise<PostgresReplica> {
  const bin = binDir()
  const user = postgresUser()
  // setpriv execs the binary (no extra process in between), so signals reach Postgres itself.
  const asPostgres = (cmd: string[]) => (user === null ? cmd : ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', ...cmd])
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' }

  await removeStaleWorkDirs(WORK_DIR_PREFIX, STALE_WORK_DIR_MS)
  const workDir = await mkdtemp(join(tmpdir(), WORK_DIR_PREFIX))
  const [primaryDir, replicaDir, logDir] = ['primary', 'replica', 'logs'].map((name) => join(workDir, name))
  await Promise.all([primaryDir, replicaDir, logDir].map((dir) => mkdir(dir, { mode: 0o700 })))
  if (user !== null) for (const dir of [workDir, primaryDir, replicaDir, logDir]) await chown(dir, user.uid, user.gid)
  const [primaryPort, replicaPort] = await findFreePorts(2)
  const urlOf = (port: number) => `postgres://postgres@127.0.0.1:${port}/postgres`

  /** A one-shot tool (initdb, pg_basebackup); its output explains a failure. */
  const run = async (name: string, args: string[]) => {
    const proc = Bun.spawn({ cmd: asPostgres([join(bin, name), ...args]), env, cwd: workDir, stdout: 'pipe', stderr: 'pipe' })
    const timer = setTimeout(() => proc.kill('SIGKILL'), STEP_TIMEOUT_MS)
    const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()])
    clearTimeout(timer)
    if (code !== 0) throw new Error(`${name} failed (${code}): ${err || out}`)
  }

  const servers = new Map<string, Child>()
  const startServer = async (name: 'primary' | 'replica', dataDir: string, port: number) => {
    const settings = [...SERVER_SETTINGS, ...(options.settings ?? []), `port=${port}`].flatMap((setting) => ['-c', setting])
    const child = spawnChild({ name: `postgres-${name}`, cmd: asPostgres([join(bin, 'postgres'), '-D', dataDir, ...settings]), cwd: workDir, env, output: { kind: 'files', dir: logDir } })
    servers.set(name, child)
    // A standby accepts connections once its copy is consistent; a query proves it.
    const ready = await waitFor(() => answers(urlOf(port)), { timeoutMs: STEP_TIMEOUT_MS, stop: child.proc.exited })
    if (!ready) throw new Error(`postgres ${name} did not answer on port ${port}: ${child.tail().join('\n')}`)
  }
  /** A server's postmaster and its children (backends, WAL receiver, …), to signal them all. */
  const processesOf = (name: string): number[] => {
    const pid = servers.get(name)?.proc.pid
    if (pid === undefined) return []
    const children = Bun.spawnSync(['pgrep', '-P', String(pid)]).stdout.toString().split('\n').filter(Boolean).map(Number)
    return [pid, ...children]
  }
  const signalAll = (name: string, signal: 'SIGSTOP' | 'SIGCONT') => {
    for (const pid of processesOf(name)) {
      try {
        process.kill(pid, signal)
      } catch {
        // Gone meanwhile.
      }
    }
  }
  const stopServer = async (name: string) => {
    signalAll(name, 'SIGCONT')
    await servers.get(name)?.stop('SIGINT', STOP_GRACE_MS)
    servers.delete(name)
  }
  let replicaStarted: Promise<void> = Promise.resolve()
  const stopAll = async () => {
    await replicaStarted.catch(() => {})
    // The replica first, so the primary's shutdown does not wait for its WAL sender.
    await stopServer('replica')
    await stopServer('primary')
    await rm(workDir, { recursive: true, force: true })
  }

  try {
    await run('initdb', ['-D', primaryDir, '-U', 'postgres', '--auth=trust', '--no-sync', '--no-instructions', '-E', 'UTF8', '--locale=C.UTF-8'])
    await startServer('primary', primaryDir, primaryPort)
  } catch (error) {
    await stopAll()
    throw error
  }
  replicaStarted = (async () => {
    // -R writes standby.signal and primary_conninfo; initdb's pg_hba.conf trusts replication from 127.0.0.1.
    await run('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primaryPort), '-U', 'postgres', '-D', replicaDir, '-R', '-X', 'stream', '-c', 'fast', '--no-sync'])
    await startServer('replica', replicaDir, replicaPort)
  })()

  return {
    primaryUrl: urlOf(primaryPort),
    replicaUrl: urlOf(replicaPort),
    replicaStarted,
    stopReplica: () => stopServer('replica'),
    startReplica: () => startServer('replica', replicaDir, replicaPort),
    freezeReplica: () => signalAll('replica', 'SIGSTOP'),
    thawReplica: () => signalAll('replica', 'SIGCONT'),
    stop: stopAll,
  }
}

/** True when a fresh connection can run a query (false while starting, recovering or stopped). */
async function answers(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} })
  try {
    await sql`select 1`
    return true
  } catch {
    return false
  } finally {
    await sql.end({ timeout: 1 })
  }
}
