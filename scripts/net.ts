import { connect, createServer, type Server } from 'node:net'

/** Hosts for which starting a local stand-in (embedded Postgres) makes sense. */
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]'])
const DEFAULT_PORTS: Record<string, number> = { 'postgres:': 5432, 'postgresql:': 5432, 'redis:': 6379, 'rediss:': 6379 }

export type Endpoint = { host: string; port: number; local: boolean }

/** Host and port of a postgres:// or redis:// URL, with the scheme's default port. */
export function endpointOf(url: string): Endpoint {
  const parsed = new URL(url)
  const host = parsed.hostname.replace(/^\[|\]$/g, '') || 'localhost'
  const port = parsed.port === '' ? (DEFAULT_PORTS[parsed.protocol] ?? 0) : Number(parsed.port)
  return { host, port, local: LOCAL_HOSTS.has(host) }
}

/** True when something accepts TCP connections there within the timeout. */
export function canConnect(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    const done = (open: boolean) => {
      socket.destroy()
      resolve(open)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/**
 * Ports the kernel considers free right now. All are held open until every one is
 * chosen, so one call never returns the same port twice; a process started a moment
 * later can still race for it, which is rare enough for tests.
 */
export async function findFreePorts(count: number): Promise<number[]> {
  const servers: Server[] = []
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer()
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(0, '127.0.0.1', () => resolve())
      })
      servers.push(server)
    }
    return servers.map((server) => (server.address() as { port: number }).port)
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))))
  }
}

/** Polls `probe` until it returns true; false once `timeoutMs` has passed or `stop` resolved. */
export async function waitFor(
  probe: () => Promise<boolean>,
  options: { timeoutMs: number; intervalMs?: number; stop?: Promise<unknown> },
): Promise<boolean> {
  const deadline = Date.now() + options.timeoutMs
  let stopped = false
  options.stop?.then(() => (stopped = true))
  while (!stopped && Date.now() < deadline) {
    if (await probe()) return true
    await Bun.sleep(options.intervalMs ?? 100)
  }
  return false
}

/** GET `url` answered 2xx within the timeout. */
export async function answersOk(url: string, timeoutMs = 1000): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
    await response.arrayBuffer()
    return response.ok
  } catch {
    return false
  }
}
