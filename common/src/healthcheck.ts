/**
 * The container health check (Dockerfile HEALTHCHECK): exits 0 when the service named by
 * SERVICE answers its /health on this machine, 1 otherwise.
 */
import { SERVICE_DEFAULTS, type ServiceName } from './ports'

const PROBE_TIMEOUT_MS = 2000

const service = process.env.SERVICE
if (service === undefined || !(service in SERVICE_DEFAULTS)) {
  console.error(`healthcheck: SERVICE must be one of ${Object.keys(SERVICE_DEFAULTS).join(', ')}`)
  process.exit(1)
}
const { port: defaultPort, prefix } = SERVICE_DEFAULTS[service as ServiceName]
const port = process.env.PORT ?? String(defaultPort)
const response = await fetch(`http://127.0.0.1:${port}${prefix}/health`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) }).catch(() => null)
process.exit(response?.ok === true ? 0 : 1)
