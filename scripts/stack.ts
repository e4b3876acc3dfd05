import { join, resolve } from 'node:path'
import type { Subprocess } from 'bun'
import { SERVICE_DEFAULTS, type ServiceName } from '@chat/common/ports'
import { shortAccessLine } from './access-line'
import { buildDocs } from './build-docs'
import { buildWeb } from './build-web'
import { exitOnSignals, isRunning, spawnChild, type Child, type Output } from './child'
import { answersOk, waitFor } from './net'

export const REPO_ROOT = resolve(import.meta.dir, '..')

export type { ServiceName }
export const SERVICE_NAMES = Object.keys(SERVICE_DEFAULTS) as readonly ServiceName[]

/** How each service is started and reached. Ports are the single-instance development defaults. */
export const SERVICES = Object.fromEntries(
  SERVICE_NAMES.map((service) => [
    service,
    { entry: `${service}/src/index.ts`, prefix: SERVICE_DEFAULTS[service].prefix, defaultPort: SERVICE_DEFAULTS[service].port },
  ]),
) as Record<ServiceName, { entry: string; prefix: string; defaultPort: number }>

/**
 * Bun's HTTP parser refuses a request line plus headers above its limit (16 KiB by default)
 * with a bare 431 and closes the connection, even while Caddy is still sending the body;
 * Caddy then answers 503. So the parser's limit sits above what Caddy forwards (its
 * `max_header_size` of 256 KiB, plus Go's 4 KiB slack and the headers Caddy adds), and the
 * service itself answers 431 in the error shape from MAX_HEADER_BYTES. The Dockerfile passes
 * the same flag (test/compose.test.ts holds it to this).
 */
export const BUN_HEADER_PARSER_FLAG = '--max-http-header-size=327680'

/** Start-up includes migrations and the first Postgres/Redis connections; slower means something is wrong. */
const READY_TIMEOUT_MS = 30_000
const CADDY_TIMEOUT_MS = 10_000

export type StackOptions = {
  /** Given to every service instance; PORT and the peers' URLs (PEER_URLS) are added per instance. */
  env: Record<string, string>
  counts: Record<ServiceName, number>
  /** Port of the `index`-th instance of `service` (also used by `startInstance`). */
  allocatePort: (service: ServiceName, index: number) => number | Promise<number>
  /** Caddy in front, or null for services only. `env` needs PATH and HOME at least. */
  caddy: {
    httpPort: number
    admin: string
    env: Record<string, string>
    /** Caddy's WEB_ROOT (web client and /docs); with `build`, `buildWebRoot` fills it while the services start. */
    webRoot: { dir: string; build: boolean }
  } | null
  output: Output
  readyTimeoutMs?: number
  /** Default true: SIGINT/SIGTERM stop the children and exit. False when the caller handles signals. */
  exitOnSignal?: boolean
}

export type Instance = {
  name: string
  service: ServiceName
  port: number
  /** Direct URL of this instance, bypassing Caddy. */
  url: string
  proc: Subprocess
  child: Child
}

export type Stack = {
  /** Running instances; `kill` removes from and `startInstance` adds to this array. */
  instances: Instance[]
  /** Starts one more instance (not added to Caddy's upstreams) and waits until it is ready. */
  startInstance(service: ServiceName, options?: { env?: Record<string, string>; port?: number }): Promise<Instance>
  /** Kills one instance (SIGKILL by default: a crash) and waits until it is gone. */
  kill(instance: Instance, signal?: 'SIGKILL' | 'SIGTERM'): Promise<void>
  /** Stops Caddy, then every instance (SIGTERM, SIGKILL after a grace period), and waits. */
  stop(): Promise<void>
}

export class StackError extends Error {}

/**
 * Where a service finds another one: every instance of that service, comma-separated (not
 * through Caddy: internal routes are not public). The caller spreads its calls over them and
 * skips one that stops answering (common/src/internal.ts, `remoteKeySet`).
 */
const PEER_URLS: { env: string; service: ServiceName; path: string }[] = [
  { env: 'AUTH_JWKS_URL', service: 'auth', path: '/auth/.well-known/jwks.json' },
  { env: 'AUTH_INTERNAL_URL', service: 'auth', path: '' },
  { env: 'USER_INTERNAL_URL', service: 'user', path: '' },
]

/**
 * Starts every instance and then Caddy, each one waited for until it answers: auth first,
 * because the others fetch its public keys, then user and chat side by side. Ports are
 * chosen up front so every instance knows its peers' addresses. On failure everything
 * already started is stopped and the error names the process with its last lines of output.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  if (options.exitOnSignal !== false) exitOnSignals()
  const instances: Instance[] = []
  const started = new Map<ServiceName, number>()
  const readyTimeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS
  const urlOf = (port: number) => `http://${dialHost(options.env.HOST ?? '127.0.0.1')}:${port}`
  const plannedPorts = new Map<ServiceName, number[]>()
  for (const service of SERVICE_NAMES) {
    const ports: number[] = []
    for (let index = 0; index < options.counts[service]; index++) ports.push(await options.allocatePort(service, index))
    plannedPorts.set(service, ports)
  }
  let caddy: Child | null = null

  /** The planned instances (a killed one stays listed, as in a static configuration), then any started later. */
  const peerEnv = (): Record<string, string> => {
    const env: Record<string, string> = {}
    for (const { env: name, service, path } of PEER_URLS) {
      const started = instances.filter((instance) => instance.service === service).map((instance) => instance.port)
      const ports = [...new Set([...plannedPorts.get(service)!, ...started])]
      if (ports.length > 0) env[name] = ports.map((port) => urlOf(port) + path).join(',')
    }
    return env
  }

  const startInstance = async (service: ServiceName, extra: { env?: Record<string, string>; port?: number } = {}) => {
    const index = started.get(service) ?? 0
    started.set(service, index + 1)
    const port = extra.port ?? plannedPorts.get(service)![index] ?? (await options.allocatePort(service, index))
    const env: Record<string, string> = { ...options.env, ...peerEnv(), ...extra.env, PORT: String(port) }
    const name = `${service}-${index + 1}`
    const child = spawnChild({
      name,
      cmd: [process.execPath, BUN_HEADER_PARSER_FLAG, 'run', SERVICES[service].entry],
      cwd: REPO_ROOT,
      env,
      output: options.output,
    })
    const instance: Instance = { name, service, port, url: urlOf(port), proc: child.proc, child }
    instances.push(instance)
    try {
      await waitUntilReady(instance, readyTimeoutMs)
    } catch (error) {
      await child.stop()
      instances.splice(instances.indexOf(instance), 1)
      throw error
    }
    return instance
  }

  /** Settles every start before failing, so no instance is still starting when `stop` runs. */
  const startAll = async (...services: ServiceName[]) => {
    const starts = services.flatMap((service) => Array.from({ length: options.counts[service] }, () => startInstance(service)))
    const failed = (await Promise.allSettled(starts)).find((result) => result.status === 'rejected')
    if (failed !== undefined) throw failed.reason
  }

  const stop = async () => {
    await caddy?.stop()
    await Promise.all(instances.map((instance) => instance.child.stop()))
    instances.length = 0
  }

  // The build needs none of the services, so it runs while they start. Its failure is
  // awaited below; the empty catch only keeps it from counting as unhandled meanwhile.
  const webFiles = options.caddy?.webRoot.build ? buildWebRoot(options.caddy.webRoot.dir) : Promise.resolve()
  webFiles.catch(() => {})
  try {
    await startAll('auth')
    await startAll('user', 'chat')
    await webFiles
    if (options.caddy !== null) caddy = await startCaddy(options.caddy, instances, options.output)
  } catch (error) {
    await stop()
    throw error
  }

  return {
    instances,
    startInstance,
    async kill(instance, signal = 'SIGKILL') {
      await instance.child.stop(signal)
      const at = instances.indexOf(instance)
      if (at !== -1) instances.splice(at, 1)
    },
    stop,
  }
}

/**
 * Builds what Caddy serves from WEB_ROOT: the web client and the /docs pages beneath it.
 * Both take well under a second, so they are built on every start rather than cached.
 * They run side by side: the web build (over)writes only its own files, the docs build
 * empties and fills only `docs/`.
 */
export async function buildWebRoot(dir: string): Promise<void> {
  try {
    await Promise.all([buildWeb(dir), buildDocs(join(dir, 'docs'))])
  } catch (error) {
    throw new StackError(`Building the web files into ${dir} failed: ${(error as Error).message}`)
  }
}

async function waitUntilReady(instance: Instance, timeoutMs: number) {
  const readyUrl = `${instance.url}${SERVICES[instance.service].prefix}/ready`
  const ready = await waitFor(() => answersOk(readyUrl), { timeoutMs, stop: instance.proc.exited })
  if (ready) return
  const why = !isRunning(instance.proc) ? `${describeExit(instance.proc)} before it was ready` : `did not answer ${readyUrl} with 200 within ${timeoutMs} ms`
  throw new StackError(`${instance.name} ${why}\n${describeOutput(instance.child)}`)
}

async function startCaddy(config: NonNullable<StackOptions['caddy']>, instances: Instance[], output: Output): Promise<Child> {
  const upstreams = (service: ServiceName) =>
    instances
      .filter((instance) => instance.service === service)
      .map((instance) => new URL(instance.url).host)
      .join(' ')
  const caddy = spawnChild({
    name: 'caddy',
    cmd: ['caddy', 'run', '--config', join(REPO_ROOT, 'Caddyfile'), '--adapter', 'caddyfile'],
    cwd: REPO_ROOT,
    env: {
      ...config.env,
      HTTP_PORT: String(config.httpPort),
      CADDY_ADMIN: config.admin,
      WEB_ROOT: config.webRoot.dir,
      AUTH_UPSTREAMS: upstreams('auth'),
      USER_UPSTREAMS: upstreams('user'),
      CHAT_UPSTREAMS: upstreams('chat'),
    },
    output: output.kind === 'prefix' ? { kind: 'prefix', filter: isWorthShowing, format: shortAccessLine } : output,
  })
  const base = `http://127.0.0.1:${config.httpPort}`
  const prefixes = [...new Set(instances.map((instance) => SERVICES[instance.service].prefix))]
  const probe = async () => (await Promise.all(prefixes.map((prefix) => answersOk(`${base}${prefix}/health`)))).every(Boolean)
  if (!(await waitFor(probe, { timeoutMs: CADDY_TIMEOUT_MS, stop: caddy.proc.exited }))) {
    const why = !isRunning(caddy.proc) ? describeExit(caddy.proc) : `did not proxy ${prefixes.join(', ')} within ${CADDY_TIMEOUT_MS} ms`
    await caddy.stop()
    throw new StackError(`caddy ${why}\n${describeOutput(caddy)}`)
  }
  return caddy
}

/** Caddy logs every failed active health check at info level; in a terminal that is noise, the access log is not. */
function isWorthShowing(line: string): boolean {
  return !line.includes('health_checker.active')
}

function describeOutput(child: Child): string {
  const where = child.logFile === null ? '' : ` (full log: ${child.logFile})`
  return `--- last lines of ${child.name}${where} ---\n${child.tail().join('\n')}\n---`
}

/** A signal when it was killed by one, else its exit code. */
function describeExit(proc: Subprocess): string {
  return `exited (${proc.signalCode ?? `code ${proc.exitCode}`})`
}

/** A service listening on every interface is still dialled on loopback. */
function dialHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1'
  return host.includes(':') ? `[${host}]` : host
}
