import { Elysia } from 'elysia'
import { timingSafeEqual } from 'node:crypto'
import { AppError } from './errors'

/** Header that carries the shared secret on service-to-service calls. Caddy never routes `/internal/*`. */
export const INTERNAL_TOKEN_HEADER = 'x-internal-token'
export const INTERNAL_CALL_TIMEOUT_MS = 5000

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

/** Calls another service's internal route; never throws, the caller decides what a failure means. */
export async function callInternal<T>(
  baseUrl: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  requestId?: string,
): Promise<InternalResult<T>> {
  let response: Response
  try {
    response = await fetch(baseUrl + path, {
      method,
      headers: {
        [INTERNAL_TOKEN_HEADER]: token,
        'content-type': 'application/json',
        ...(requestId ? { 'x-request-id': requestId } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(INTERNAL_CALL_TIMEOUT_MS),
    })
  } catch {
    return { ok: false, reason: 'unreachable' }
  }
  const text = await response.text().catch(() => '')
  const data = text ? safeJson(text) : undefined
  if (!response.ok) return { ok: false, reason: 'status', status: response.status, error: (data as { error?: string })?.error }
  return { ok: true, status: response.status, data: data as T }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
