import { Elysia } from 'elysia'
import { timingSafeEqual } from 'node:crypto'
import { AppError } from './errors'

/** Header that carries the shared secret on service-to-service calls. Caddy never routes `/internal/*`. */
export const INTERNAL_TOKEN_HEADER = 'x-internal-token'
/** Budget of one call, over every instance it is tried on, so a caller never waits longer than this. */
export const INTERNAL_CALL_TIMEOUT_MS = 5000
/**
 * An instance that could not be reached is skipped for this long, so calls do not pay a
 * refused connection (or a timeout) each time round; afterwards it is tried again.
 */
export const PEER_DOWN_MS = 5000
/** Methods that may run twice without harm, so they are retried even when the first try may have arrived. */
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'])
/** Connection failures where the request surely never reached the peer: safe to retry whatever the method. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'])

export function internalGuard(token: string) {
  const expected = Buffer.from(token)
  return new Elysia({ name: 'internal-guard', seed: token.length }).onBeforeHandle({ as: 'scoped' }, ({ headers }) => {
    const given = Buffer.from(headers[INTERNAL_TOKEN_HEADER] ?? '')
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new AppError('FORBIDDEN', 'Internal route')
    }
  })
}

export type InternalResult<T> =
  | { ok: true; status: number; data: T }
  | { ok: false; reason: 'unreachable' }
  | { ok: false; reason: 'status'; status: number; error?: string }

/** The instances of one peer service, with the ones that recently failed to connect. */
export type PeerPool = { urls: string[]; next: number; downUntil: Map<string, number> }

const pools = new Map<string, PeerPool>()

/** A peer setting is a comma-separated list of instance base URLs (one URL is a list of one). */
export function parsePeerUrls(setting: string): string[] {
  return setting
    .split(',')
    .map((url) => url.trim().replace(/\/+$/, ''))
    .filter((url) => url !== '')
}

function poolOf(setting: string): PeerPool {
  let pool = pools.get(setting)
  if (pool === undefined) {
    pool = { urls: parsePeerUrls(setting), next: 0, downUntil: new Map() }
    pools.set(setting, pool)
  }
  return pool
}

/**
 * Every instance once, starting at the round-robin position: the healthy ones first, then
 * those marked down (a mark is a hint, and trying them beats failing with instances left).
 */
export function attemptOrder(pool: PeerPool, now: number): string[] {
  const start = pool.next % pool.urls.length
  pool.next = (start + 1) % pool.urls.length
  const rotated = [...pool.urls.slice(start), ...pool.urls.slice(0, start)]
  const isDown = (url: string) => (pool.downUntil.get(url) ?? 0) > now
  return [...rotated.filter((url) => !isDown(url)), ...rotated.filter(isDown)]
}

type Attempt<T> = { result: InternalResult<T> } | { failure: 'not-sent' | 'maybe-sent' }

/**
 * Calls another service's internal route; never throws, the caller decides what a failure
 * means. `baseUrl` lists the peer's instances (comma-separated): calls rotate over the
 * healthy ones, and one that cannot be reached is marked down and the call moves on to the
 * next, unless the request may have run there and the method is not idempotent (a timed-out
 * POST may have created what it was asked to create).
 */
export async function callInternal<T>(
  baseUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  requestId?: string,
): Promise<InternalResult<T>> {
  const pool = poolOf(baseUrl)
  const deadline = Date.now() + INTERNAL_CALL_TIMEOUT_MS
  for (const url of attemptOrder(pool, Date.now())) {
    const remainingMs = deadline - Date.now()
    if (remainingMs <= 0) break
    const attempt = await callOnce<T>(url, token, method, path, body, requestId, remainingMs)
    if ('result' in attempt) {
      pool.downUntil.delete(url)
      return attempt.result
    }
    pool.downUntil.set(url, Date.now() + PEER_DOWN_MS)
    if (attempt.failure === 'maybe-sent' && !IDEMPOTENT_METHODS.has(method)) break
  }
  return { ok: false, reason: 'unreachable' }
}

async function callOnce<T>(
  instanceUrl: string,
  token: string,
  method: string,
  path: string,
  body: unknown,
  requestId: string | undefined,
  timeoutMs: number,
): Promise<Attempt<T>> {
  let response: Response
  try {
    response = await fetch(instanceUrl + path, {
      method,
      headers: {
        [INTERNAL_TOKEN_HEADER]: token,
        'content-type': 'application/json',
        ...(requestId ? { 'x-request-id': requestId } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    })
  } catch (error) {
    return { failure: NOT_SENT_CODES.has((error as { code?: string }).code ?? '') ? 'not-sent' : 'maybe-sent' }
  }
  const text = await response.text().catch(() => '')
  const data = text ? safeJson(text) : undefined
  if (!response.ok) return { result: { ok: false, reason: 'status', status: response.status, error: (data as { error?: string })?.error } }
  return { result: { ok: true, status: response.status, data: data as T } }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
