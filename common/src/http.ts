import { Elysia } from 'elysia'
import { swagger } from '@elysiajs/swagger'
import type { BaseConfig } from './config'
import { pingDb, type Sql } from './db'
import { pingRedis, type Redis } from './redis'
import { AppError, errorBody, isResponseSchemaFailure, toErrorResponse } from './errors'
import { exceedsJsonDepth } from './json-depth'
import { parseTrustedProxies } from './trusted-proxies'
import { toValidOpenApi } from './openapi'
import type { Logger } from './logger'
import { countDependencyError, metricsRegistry, observeHttpRequest } from './metrics'
import { UUID_PATTERN } from './schemas'

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

/** Path parameters that are secrets (an invite code lets anyone into a private room): logged as REDACTED. */
const SECRET_PATH_PARAMS = new Set([':code'])

/** The request's path for the log, with the segments of secret parameters (by the route's template) replaced. */
export function loggedPath(pathname: string, route: string | undefined): string {
  // No route matched (a 404): nothing was taken from the path.
  if (route === undefined) return pathname
  const template = route.split('/')
  if (!template.some((segment) => SECRET_PATH_PARAMS.has(segment))) return pathname
  const segments = pathname.split('/')
  // A path that does not split like its template is not guessed at: the template is logged instead.
  if (segments.length !== template.length) return route
  return segments.map((segment, i) => (SECRET_PATH_PARAMS.has(template[i]) ? 'REDACTED' : segment)).join('/')
}

/** Gives handlers `requestId` and `clientIp`; controllers `use` it for the types, Elysia applies it once. */
export const requestContext = new Elysia({ name: 'request-context' }).derive({ as: 'global' }, ({ request }) => {
  const { requestId, clientIp } = metaOf(request)
  return { requestId, clientIp }
})

/** `application/json`, with or without parameters such as `charset`. */
const JSON_MEDIA_TYPE = /^application\/json\s*(;|$)/i
/**
 * API answers are not cached anywhere (tokens, profiles, messages); a route whose answer
 * is public and stable (the JWKS) sets its own.
 */
const DEFAULT_CACHE_CONTROL = 'no-store'

/**
 * The one body parser of every route that takes a body, run before Elysia's own. JSON
 * only: any other body is refused with 415 before it is read as anything (so a cross-site
 * form post never reaches a handler); nesting is bounded before `JSON.parse`; an empty
 * body is `{}`, so a route whose fields are all optional (logout) needs none, and a route
 * that requires fields names the missing ones (422).
 */
export async function parseJsonBody(request: Request, limits: Pick<BaseConfig, 'MAX_BODY_BYTES' | 'JSON_MAX_DEPTH'>): Promise<unknown> {
  const isJson = JSON_MEDIA_TYPE.test(request.headers.get('content-type') ?? '')
  if (!isJson && Number(request.headers.get('content-length') ?? 0) > 0) throw unsupportedMediaType()
  const text = await request.text()
  if (text === '') return {}
  if (!isJson) throw unsupportedMediaType()
  // A body sent in chunks declares no length for `onRequest` to check.
  if (Buffer.byteLength(text) > limits.MAX_BODY_BYTES) throw payloadTooLarge(limits.MAX_BODY_BYTES)
  if (exceedsJsonDepth(text, limits.JSON_MAX_DEPTH)) {
    throw new AppError('MALFORMED_JSON', `JSON bodies may nest at most ${limits.JSON_MAX_DEPTH} levels deep`)
  }
  try {
    return JSON.parse(text)
  } catch (cause) {
    throw new AppError('MALFORMED_JSON', 'The request body is not valid JSON', { cause })
  }
}

/**
 * The request line and headers as sent (Caddy's forwarding headers included), to within a
 * few bytes: the URL here also holds the scheme and host, which the request line does not.
 */
export function headerBytes(request: Request): number {
  let bytes = request.method.length + request.url.length + ' HTTP/1.1\r\n'.length
  request.headers.forEach((value, name) => {
    bytes += name.length + value.length + ': \r\n'.length
  })
  return bytes
}

function unsupportedMediaType() {
  return new AppError('UNSUPPORTED_MEDIA_TYPE', 'Request bodies must be JSON, sent with Content-Type: application/json')
}

function headersTooLarge(limit: number) {
  return new AppError('HEADERS_TOO_LARGE', `The request line and headers are limited to ${limit} bytes`)
}

function payloadTooLarge(limit: number) {
  return new AppError('PAYLOAD_TOO_LARGE', `Request bodies are limited to ${limit} bytes`)
}

/** Where an answer broke its schema (TypeBox's first error), without the answer itself. */
function schemaFailureAt(error: unknown): { schemaPath: string; problem: string } {
  const first = (error as { valueError?: { path?: string; message?: string } }).valueError
  return { schemaPath: first?.path ?? '', problem: first?.message ?? 'unknown' }
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
  const proxies = parseTrustedProxies(config.TRUSTED_PROXIES)
  if (!proxies.ok) throw new Error(`config: TRUSTED_PROXIES is invalid: "${proxies.entry}" is not an IP address or CIDR range`)
  const trusted = proxies.trusted
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
      set.headers['cache-control'] = DEFAULT_CACHE_CONTROL
      // Answered before the body is read, and the connection is kept: Bun reads past the
      // body, so Caddy's upload of it never fails.
      if (headerBytes(request) > config.MAX_HEADER_BYTES) {
        const { body, status } = toErrorResponse('HEADERS_TOO_LARGE', headersTooLarge(config.MAX_HEADER_BYTES))
        return Response.json(body, { status, headers: { [REQUEST_ID_HEADER]: requestId, 'cache-control': DEFAULT_CACHE_CONTROL } })
      }
      const length = Number(request.headers.get('content-length') ?? 0)
      if (length > config.MAX_BODY_BYTES) {
        const { body, status } = toErrorResponse('PAYLOAD_TOO_LARGE', payloadTooLarge(config.MAX_BODY_BYTES))
        return Response.json(body, {
          status,
          headers: { [REQUEST_ID_HEADER]: requestId, 'cache-control': DEFAULT_CACHE_CONTROL, connection: 'close' },
        })
      }
    })
    .onParse({ as: 'global' }, ({ request }) => parseJsonBody(request, config))
    // Ids in the path in lower case, as Postgres prints them: what is keyed by an id's text
    // (topics, channels, a socket's rooms) then knows one room by one spelling.
    .onTransform({ as: 'global' }, ({ params }) => lowerCaseUuidParams(params as Record<string, string> | undefined))
    .use(requestContext)
    .onError({ as: 'global' }, ({ code, error, request, set, route }) => {
      const { status, body, headers } = toErrorResponse(code, error)
      if (status >= 500) {
        const at = { reqId: metaOf(request).requestId, path: loggedPath(new URL(request.url).pathname, route) }
        // Its message holds the whole answer, which may carry tokens: log only where it broke.
        if (isResponseSchemaFailure(code, error)) log.error('response does not match its schema', { ...at, ...schemaFailureAt(error) })
        else log.error('request failed', { ...at, error })
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
        path: loggedPath(new URL(request.url).pathname, route),
        status,
        ms: Math.round(ms * 10) / 10,
        ip: meta.clientIp,
      })
    })
    .use(openApiDocs(prefix, options.openapi))
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

/**
 * The OpenAPI page and document at `<prefix>/swagger` and `<prefix>/swagger/json`. The
 * plugin's document is rewritten on the way out (see `toValidOpenApi`); the hook is local
 * to this instance, so no other route pays for it.
 */
function openApiDocs(prefix: string, info: { title: string; description: string }) {
  const documentPath = `${prefix}/swagger/json`
  return new Elysia({ name: `${prefix}-openapi` })
    .onAfterHandle(({ path, responseValue }) => (path === documentPath ? toValidOpenApi(responseValue) : undefined))
    .use(
      swagger({
        // Through Caddy this page redirects to /docs, which serves Swagger UI locally; the
        // document beside it is what /docs reads.
        path: `${prefix}/swagger`,
        exclude: [/^\/internal/, `${prefix}/swagger`, documentPath],
        // The default leaves out every path with a dot, such as /auth/.well-known/jwks.json.
        excludeStaticFile: false,
        documentation: {
          info: { title: info.title, description: info.description, version: '1.0.0' },
          components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
        },
      }),
    )
}

const UUID_TEXT = new RegExp(UUID_PATTERN)

function lowerCaseUuidParams(params: Record<string, string> | undefined) {
  if (params === undefined) return
  for (const [name, value] of Object.entries(params)) if (UUID_TEXT.test(value)) params[name] = value.toLowerCase()
}
