import { mkdirSync } from 'node:fs'
import { spawnChild, type Child } from './child'
import { canConnect, endpointOf, waitFor } from './net'

/** redis-server is up within milliseconds; this only bounds a broken start. */
const START_TIMEOUT_MS = 10_000
/** Snapshot at least this often (seconds, changes), so a dev restart keeps the blacklist. */
const SNAPSHOT_EVERY = ['60', '1']

export class RedisError extends Error {}

/** `stop` stops the redis-server this process started, and does nothing otherwise. */
export type LocalRedis = { stop(): Promise<void> }

/**
 * Makes `redisUrl` usable: when nothing answers there, the host is this machine and a
 * `redis-server` binary is installed, one is started as our child with its data in
 * `dataDir`. Otherwise the error says what to do.
 */
export async function ensureRedis(redisUrl: string, dataDir: string, say: (line: string) => void): Promise<LocalRedis> {
  const { host, port, local } = endpointOf(redisUrl)
  if (await canConnect(host, port)) return { stop: async () => {} }
  const binary = Bun.which('redis-server')
  if (!local || binary === null) {
    throw new RedisError(
      [
        `Redis is not reachable at ${host}:${port} (REDIS_URL).`,
        'Start one, for example:',
        '  apt-get install -y redis-server && redis-server --daemonize yes',
        'or point REDIS_URL at a running server, e.g. REDIS_URL=redis://127.0.0.1:6379 bun run dev',
      ].join('\n'),
    )
  }
  say(`Redis: nothing listens on port ${port}, starting redis-server (data in ${dataDir})`)
  mkdirSync(dataDir, { recursive: true })
  const child: Child = spawnChild({
    name: 'redis',
    cmd: [binary, '--port', String(port), '--bind', bindAddress(host), '--dir', dataDir, '--save', SNAPSHOT_EVERY.join(' '), '--daemonize', 'no'],
    cwd: dataDir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    output: { kind: 'prefix', filter: () => false },
  })
  const up = await waitFor(() => canConnect(host, port, 200), { timeoutMs: START_TIMEOUT_MS, stop: child.proc.exited })
  if (!up) {
    await child.stop()
    throw new RedisError(`redis-server did not start on port ${port}\n--- last lines of redis ---\n${child.tail().join('\n')}\n---`)
  }
  return { stop: async () => void (await child.stop()) }
}

/** redis-server binds addresses, not names; `localhost` may mean ::1 or 127.0.0.1, so both. */
function bindAddress(host: string): string {
  return host === 'localhost' ? '127.0.0.1 -::1' : host
}
