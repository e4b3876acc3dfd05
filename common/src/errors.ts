import { Elysia, t } from 'elysia'

/** The one error shape of the contract, from every service. */
export const ErrorBody = t.Object(
  {
    error: t.String({ description: 'Fixed UPPER_SNAKE_CASE code', examples: ['VALIDATION_FAILED'] }),
    message: t.String({ description: 'Human-readable explanation' }),
    details: t.Optional(t.Array(t.Object({ field: t.String(), message: t.String() }))),
  },
  { title: 'Error' },
)
export type ErrorBody = typeof ErrorBody.static
type Detail = NonNullable<ErrorBody['details']>[number]

/** Fixed codes with their HTTP status. */
export const ERROR_STATUS = {
  MALFORMED_JSON: 400,
  UNAUTHENTICATED: 401,
  INVALID_TOKEN: 401,
  TOKEN_EXPIRED: 401,
  TOKEN_REVOKED: 401,
  INVALID_CREDENTIALS: 401,
  INVALID_REFRESH_TOKEN: 401,
  REFRESH_TOKEN_REUSED: 401,
  FORBIDDEN: 403,
  INVALID_PASSWORD: 403,
  NOT_FOUND: 404,
  USERNAME_TAKEN: 409,
  EMAIL_TAKEN: 409,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  VALIDATION_FAILED: 422,
  WEAK_PASSWORD: 422,
  TOO_MANY_ATTEMPTS: 429,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  DEPENDENCY_DOWN: 503,
} as const
export type ErrorCode = keyof typeof ERROR_STATUS

export class AppError extends Error {
  readonly status: number
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: { details?: Detail[]; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: extra.cause })
    this.status = ERROR_STATUS[code]
  }
}

/** How a service's failure reason is answered: the contract's code, a human message, optionally the field at fault. */
export type Failure = { code: ErrorCode; message: string; field?: string }

/**
 * A controller's table of failure reasons → the function that throws the contract's error
 * for one. Services return reasons (discriminated unions); only controllers turn them into
 * HTTP, all through this.
 */
export function failureAnswers<Reason extends string>(failures: Record<Reason, Failure>) {
  return (reason: Reason, extra: { retryAfterSeconds?: number } = {}): never => {
    const { code, message, field } = failures[reason]
    throw new AppError(code, message, { ...extra, details: field === undefined ? undefined : [{ field, message }] })
  }
}

/** A `cursor` query parameter this API did not hand out. */
export const BAD_CURSOR: Failure = { code: 'VALIDATION_FAILED', message: 'is not a cursor from this API', field: 'cursor' }

export function errorBody(code: string, message: string, details?: Detail[]): ErrorBody {
  return details === undefined ? { error: code, message } : { error: code, message, details }
}

/**
 * Elysia's validation error → one detail per failing field, named by its JSON pointer path.
 * An item without a path is about the whole part of the request (`type`: body, query, …).
 */
function validationDetails(error: { all?: unknown; type?: unknown }): Detail[] {
  const all = (Array.isArray(error.all) ? error.all : []) as { path?: string; message?: string; summary?: string }[]
  const whole = `(${typeof error.type === 'string' && error.type !== '' ? error.type : 'body'})`
  const seen = new Set<string>()
  const details: Detail[] = []
  for (const item of all) {
    const field = (item.path ?? '').replace(/^\//, '').replaceAll('/', '.') || whole
    if (seen.has(field)) continue
    seen.add(field)
    details.push({ field, message: item.summary ?? item.message ?? 'is invalid' })
  }
  return details
}

/** Postgres refuses NUL and invalid byte sequences: a backstop behind the schemas' patterns. */
function isUnstorableText(error: unknown): boolean {
  const code = (error as { code?: string })?.code
  return code === '22021' || code === '22P05'
}

/** Postgres and Redis connection failures become 503, everything else unexpected 500. */
function isDependencyFailure(error: unknown): boolean {
  const code = (error as { code?: string })?.code ?? ''
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECT_TIMEOUT', 'CONNECTION_DESTROYED'].includes(code) ||
    ['ClientClosedError', 'ClientOfflineError', 'SocketClosedUnexpectedlyError', 'ConnectionTimeoutError'].includes((error as Error)?.name)
  )
}

/**
 * One handler maps every failure to the contract's shape. Unknown errors are logged by
 * the caller's hook with the request id and answered without their text or stack.
 */
export function toErrorResponse(code: string | number, error: unknown): { status: number; body: ErrorBody; headers?: Record<string, string> } {
  if (error instanceof AppError) {
    const headers = error.extra.retryAfterSeconds ? { 'retry-after': String(Math.max(1, Math.ceil(error.extra.retryAfterSeconds))) } : undefined
    return { status: error.status, body: errorBody(error.code, error.message, error.extra.details), headers }
  }
  switch (code) {
    case 'VALIDATION':
      return {
        status: 422,
        body: errorBody('VALIDATION_FAILED', 'The request does not match the expected schema', validationDetails(error as { all?: unknown; type?: unknown })),
      }
    case 'PARSE':
      return { status: 400, body: errorBody('MALFORMED_JSON', 'The request body is not valid JSON') }
    case 'NOT_FOUND':
      return { status: 404, body: errorBody('NOT_FOUND', 'No such route') }
    case 'INVALID_COOKIE_SIGNATURE':
      return { status: 400, body: errorBody('BAD_REQUEST', 'Invalid cookie') }
  }
  if (isUnstorableText(error)) {
    return { status: 422, body: errorBody('VALIDATION_FAILED', 'The request contains characters that cannot be stored') }
  }
  if (isDependencyFailure(error)) {
    return { status: 503, body: errorBody('DEPENDENCY_DOWN', 'A backing service is unavailable, try again shortly') }
  }
  return { status: 500, body: errorBody('INTERNAL', 'Something went wrong on our side') }
}

export const errorResponses = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  413: ErrorBody,
  422: ErrorBody,
  429: ErrorBody,
  503: ErrorBody,
}
