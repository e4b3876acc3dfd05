import { Elysia, ParseError } from 'elysia'
import { swagger } from '@elysiajs/swagger'
import type { BaseConfig } from './config'
import { pingDb, type Sql } from './db'
import { pingRedis, type Redis } from './redis'
import { errorBody, toErrorResponse } from './errors'
import type { Logger } from './logger'
import { countDependencyError, metricsRegistry, observeHttpRequest } from './metrics'

const REQUEST_ID_HEADER = 'x-request-id'
const REQUEST_ID_PATTERN = /^[\w.:-]{1,128}$/

/**
 * Bun refuses bodies above its own limit before any hook runs, with a bare 413. It sits
 * above ours so that a declared Content-Length gets the contract's 413 body; it still
 * caps chunked uploads that declare no length.
 */
const BODY_HARD_LIMIT_FACTOR = 4

type RequestMeta = { requestId: string; clientIp: string; startedAt: number }
/** Filled in `onRequest`, before parsing, so even a malformed request is logged with its id. */
const requestMeta = new WeakMap<Request, RequestMeta>()

function metaOf(request: Request): RequestMeta {
  return requestMeta.get(request) ?? { requestId: crypto.randomUUID(), clientIp: 'unknown', startedAt: performance.now() }
}

/** Gives handlers `requestId` and `clientIp`; controllers `use` it for the types, Elysia applies it once. */
export const requestContext = new Elysia({ name: 'request-context' }).derive({ as: 'global' }, ({ request }) => {
  const { requestId, clientIp } = metaOf(request)
  return { requestId, clientIp }
})

/**
 * `parse` hook for a route whose JSON object body may be left out (logout). Elysia ignores
 * a parse error when the body schema is optional, so a truncated body would quietly mean
 * "no body". Here only an empty body does (as `{}`); unparseable JSON is a parse error
 * (400), and a value that is not an object is left for the route's `t.Object` to refuse (422).
 */
export async function parseOptionalJsonBody({ request }: { request: Request }): Promise<unknown> {
  const text = await request.text()
  if (text.trim() === '') return {}
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new ParseError(error as SyntaxError)
  }
}

/**
 * The HTTP shell every service shares: request id (Caddy's, or a new one), client IP
 * (X-Forwarded-For believed only from trusted proxies), the body-size limit, the error
 * shape, one JSON access-log line per request, health/readiness and the OpenAPI document.
 */
export function createServiceApp(options: {
  service: string
  prefix: string
  config: BaseConfig
  log: Logger
  /** Readiness is both stores answering; every service has exactly these two. */
  sql: Sql
  redis: Redis
  openapi: { title: string; description: string }
  /** Bun WebSocket settings; Elysia reads them only from the root instance. */
  websocket?: Record<string, unknown>
}) {
  const { service, prefix, config, log } = options
  const trusted = new Set(config.TRUSTED_PROXIES.split(',').map((ip) => ip.trim()).filter(Boolean))
  const metricsPath = `${prefix}/metrics`

  return new Elysia({
    name: `${service}-app`,
    // Elysia's default quietly drops unknown body fields before validation; the contract
    // answers them with 422 instead. Controllers' routes are compiled by this root instance,
    // so its setting applies to every route.
    normalize: false,
    serve: { maxRequestBodySize: config.MAX_BODY_BYTES * BODY_HARD_LIMIT_FACTOR },
    websocket: options.websocket,
  })
    .onRequest(({ request, server, set }) => {
      const given = request.headers.get(REQUEST_ID_HEADER)
      const requestId = given !== null && REQUEST_ID_PATTERN.test(given) ? given : crypto.randomUUID()
      const peer = server?.requestIP(request)?.address ?? 'unknown'
      const forwarded = request.headers.get('x-forwarded-for')
      const clientIp = forwarded && trusted.has(peer) ? forwarded.split(',').at(-1)!.trim() : peer
      requestMeta.set(request, { requestId, clientIp, startedAt: performance.now() })
      set.headers[REQUEST_ID_HEADER] = requestId
      const length = Number(request.headers.get('content-length') ?? 0)
      if (length > config.MAX_BODY_BYTES) {
        return Response.json(errorBody('PAYLOAD_TOO_LARGE', `Request bodies are limited to ${config.MAX_BODY_BYTES} bytes`), {
          status: 413,
          headers: { [REQUEST_ID_HEADER]: requestId, connection: 'close' },
        })
      }
    })
    .use(requestContext)
    .onError({ as: 'global' }, ({ code, error, request, set }) => {
      const { status, body, headers } = toErrorResponse(code, error)
      if (status >= 500) {
        log.error('request failed', { reqId: metaOf(request).requestId, path: new URL(request.url).pathname, error })
        countDependencyError(error, 'request')
      }
      set.status = status
      Object.assign(set.headers, headers)
      return body
    })
    .onAfterResponse({ as: 'global' }, ({ request, set, route }) => {
      const meta = metaOf(request)
      const status = typeof set.status === 'number' ? set.status : 200
      const ms = performance.now() - meta.startedAt
      // A scrape timing itself would only ever report the previous scrape; /health and
      // /ready stay in, as their own series: /ready's latency is that of Postgres and Redis.
      if (route !== metricsPath) observeHttpRequest(request.method, route, status, ms / 1000)
      log.info('request', {
        reqId: meta.requestId,
        method: request.method,
        path: new URL(request.url).pathname,
        status,
        ms: Math.round(ms * 10) / 10,
        ip: meta.clientIp,
      })
    })
    .use(
      swagger({
        // Through Caddy this page redirects to /docs, which serves Swagger UI locally; the
        // document beside it (/<prefix>/swagger/json) is what /docs reads.
        path: `${prefix}/swagger`,
        exclude: [/^\/internal/, `${prefix}/swagger`, `${prefix}/swagger/json`],
        // The default leaves out every path with a dot, such as /auth/.well-known/jwks.json.
        excludeStaticFile: false,
        documentation: {
          info: { title: options.openapi.title, description: options.openapi.description, version: '1.0.0' },
          components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
        },
      }),
    )
    .get(`${prefix}/health`, () => ({ status: 'ok', service }), { detail: { summary: 'Process is up', tags: ['Health'] } })
    .get(
      `${prefix}/ready`,
      async ({ set }) => {
        const [postgres, redis] = await Promise.all([pingDb(options.sql), pingRedis(options.redis)])
        const down = Object.entries({ postgres, redis }).flatMap(([name, up]) => (up ? [] : [name]))
        if (down.length === 0) return { status: 'ready', service }
        set.status = 503
        return errorBody(
          'DEPENDENCY_DOWN',
          `Not ready: ${down.join(', ')} unreachable`,
          down.map((name) => ({ field: name, message: 'unreachable' })),
        )
      },
      { detail: { summary: 'Postgres and Redis are reachable', tags: ['Health'] } },
    )
    // For Prometheus on the internal network: Caddy answers 404 for it, and it stays out
    // of the public API document.
    .get(
      metricsPath,
      async () => new Response(await metricsRegistry.metrics(), { headers: { 'content-type': metricsRegistry.contentType } }),
      { detail: { hide: true } },
    )
}
