import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { failedDependency } from './errors'

/**
 * The process's one registry, served at `/<prefix>/metrics`. Not prom-client's global
 * one, so a library that registers there cannot add series to ours. No `service` label:
 * Prometheus adds `job` and `instance` from its scrape configuration.
 */
export const metricsRegistry = new Registry()
collectDefaultMetrics({ register: metricsRegistry })

/**
 * From half a millisecond (a cached-token read answers in well under one) to 5 s (a
 * login queued behind argon2id); prom-client's default buckets start at 5 ms and would
 * put nearly every request into the first one.
 */
const HTTP_DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

/** `route` is the route template (`/users/:id`), never the raw path, so the series stay few. */
export const httpRequestDuration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'HTTP requests from arrival to response, by method, route template and status',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: HTTP_DURATION_BUCKETS,
  registers: [metricsRegistry],
})

/**
 * `request`: an HTTP request or a socket frame failed on it; `connection`: the client lost
 * or could not reach it; `store`: the chat's batch of messages was not stored.
 */
type DependencyErrorSource = 'request' | 'connection' | 'store'

export const dependencyErrors = new Counter({
  name: 'dependency_errors_total',
  help: 'Failures of Postgres and Redis, by dependency and where they were seen',
  labelNames: ['dependency', 'source'] as const,
  registers: [metricsRegistry],
})

/** The method label takes these as they are and anything else as OTHER: a client picks the method. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])
/** Requests that matched no route (404s, scanners) share one series instead of one per path. */
const UNMATCHED_ROUTE = 'unmatched'

export function observeHttpRequest(method: string, route: string | undefined, status: number, seconds: number) {
  httpRequestDuration.observe({ method: KNOWN_METHODS.has(method) ? method : 'OTHER', route: route || UNMATCHED_ROUTE, status }, seconds)
}

/** Counts `error` if it came from Postgres or Redis; called on error paths only. */
export function countDependencyError(error: unknown, source: DependencyErrorSource) {
  const dependency = failedDependency(error)
  if (dependency !== null) dependencyErrors.inc({ dependency, source })
}
