import { ParseError, t } from 'elysia'
import postgres from 'postgres'
import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  DisconnectsClientError,
  ErrorReply,
  ReconnectStrategyError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  TimeoutError,
} from 'redis'

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
  /** A wrong or already used two-factor code. */
  INVALID_CODE: 401,
  INVALID_REFRESH_TOKEN: 401,
  REFRESH_TOKEN_REUSED: 401,
  FORBIDDEN: 403,
  /** The caller is a member, but this action on this resource is not theirs to take (another's message). */
  NOT_ALLOWED: 403,
  INVALID_PASSWORD: 403,
  /** The user is banned from the room (join, addition, invite). */
  BANNED: 403,
  NOT_FOUND: 404,
  USERNAME_TAKEN: 409,
  EMAIL_TAKEN: 409,
  CONFLICT: 409,
  /** The owner tried to leave or demote themselves without handing the room over. */
  LAST_OWNER: 409,
  /** A message already carries as many distinct reaction emoji as allowed. */
  TOO_MANY_REACTIONS: 409,
  /** An invite code that expired or was used up. */
  INVITE_EXPIRED: 410,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  VALIDATION_FAILED: 422,
  WEAK_PASSWORD: 422,
  /** `replyTo` names no message of the same room (a WebSocket `error` code; 422 if REST ever takes it). */
  BAD_REPLY: 422,
  TOO_MANY_ATTEMPTS: 429,
  RATE_LIMITED: 429,
  HEADERS_TOO_LARGE: 431,
  INTERNAL: 500,
  DEPENDENCY_DOWN: 503,
} as const
export type ErrorCode = keyof typeof ERROR_STATUS

export class AppError extends Error {
  readonly status: number
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: { details?: Detail[]; retryAfterSeconds?: number; cause?: unknown; status?: number } = {},
  ) {
    super(message, { cause: extra.cause })
    this.status = extra.status ?? ERROR_STATUS[code]
  }
}

/**
 * How a service's failure reason is answered: the contract's code, a human message,
 * optionally the field at fault, and a status where the contract gives this route another
 * than the code's usual one (a mailed token that opens nothing is 400 INVALID_TOKEN: the
 * request is bad, the caller is not unauthenticated).
 */
export type Failure = { code: ErrorCode; message: string; field?: string; status?: number }

/**
 * A controller's table of failure reasons → the function that throws the contract's error
 * for one. Services return reasons (discriminated unions); only controllers turn them into
 * HTTP, all through this. `detail` replaces the message of the field's detail when the
 * service said more precisely what is wrong (why a password is weak).
 */
export function failureAnswers<Reason extends string>(failures: Record<Reason, Failure>) {
  return (reason: Reason, extra: { retryAfterSeconds?: number; detail?: string } = {}): never => {
    const { code, message, field, status } = failures[reason]
    const details = field === undefined ? undefined : [{ field, message: extra.detail ?? message }]
    throw new AppError(code, message, { retryAfterSeconds: extra.retryAfterSeconds, details, status })
  }
}

/** A `cursor` query parameter this API did not hand out. */
export const BAD_CURSOR: Failure = { code: 'VALIDATION_FAILED', message: 'The cursor is not one this API handed out', field: 'cursor' }

export function errorBody(code: string, message: string, details?: Detail[]): ErrorBody {
  return details === undefined ? { error: code, message } : { error: code, message, details }
}

/**
 * A validation answer stays small whatever the request: at most this many details
 * (Elysia collects up to 64, one per unknown property of a wide body)…
 */
export const VALIDATION_MAX_DETAILS = 20
/** …each field name and message cut to this many characters (a property name is client input). */
export const VALIDATION_DETAIL_MAX_CHARS = 200

function clip(text: string): string {
  return text.length <= VALIDATION_DETAIL_MAX_CHARS ? text : `${text.slice(0, VALIDATION_DETAIL_MAX_CHARS - 1)}…`
}

/**
 * Elysia's validation error → one detail per failing field, named by its JSON pointer path.
 * An item without a path is about the whole part of the request (`type`: body, query, …).
 * The message is TypeBox's, which names what was expected; Elysia's `summary` may quote
 * the value sent ("… but found: …"), which is never echoed.
 */
function validationDetails(error: { all?: unknown; type?: unknown }): Detail[] {
  const all = (Array.isArray(error.all) ? error.all : []) as { path?: string; message?: string }[]
  const whole = `(${typeof error.type === 'string' && error.type !== '' ? error.type : 'body'})`
  const seen = new Set<string>()
  const details: Detail[] = []
  for (const item of all) {
    const field = clip((item.path ?? '').replace(/^\//, '').replaceAll('/', '.') || whole)
    if (seen.has(field)) continue
    seen.add(field)
    details.push({ field, message: clip(item.message ?? 'is invalid') })
    if (details.length === VALIDATION_MAX_DETAILS) break
  }
  return details
}

/** Postgres refuses NUL and invalid byte sequences: a backstop behind the schemas' patterns. */
function isUnstorableText(error: unknown): boolean {
  const code = (error as { code?: string })?.code
  return code === '22021' || code === '22P05'
}

export type Dependency = 'postgres' | 'redis'

/**
 * node-redis's errors for a connection that is gone, refused or too slow. Matched by class:
 * node-redis sets no `name` on them. Other reply errors are bugs (a wrong type, a bad
 * script), except those a server answers while it cannot serve (below).
 */
const REDIS_CONNECTION_ERRORS = [
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  DisconnectsClientError,
  ReconnectStrategyError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  TimeoutError,
]
/** Reply prefixes of a Redis that is loading, a read-only replica, or a cluster without a master. */
const REDIS_UNAVAILABLE_REPLY = /^(LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY|NOREPLICAS|OOM)\b/

/** postgres.js's own codes for a lost or refused connection. */
const POSTGRES_CONNECTION_CODES = new Set(['CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT'])
/**
 * Socket errors passed on as they are: by postgres.js (which attaches the failed `query`
 * to them) and by node-redis for a MULTI on a dead connection (which does not).
 */
const SOCKET_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'])
/**
 * SQLSTATEs of a server that cannot serve now: connection exceptions (class 08), too many
 * connections, shutting down or starting up, a statement cancelled by `statement_timeout`,
 * a lock not granted within `lock_timeout` (55P03).
 */
const POSTGRES_UNAVAILABLE_STATES = /^(08...|53300|57P0[1-3]|57014|55P03)$/

/**
 * The one rule for "a backing service failed" (503 here, the dependency error counter in
 * metrics.ts): which one, or null for anything else (a bug, bad data, another service).
 */
export function failedDependency(error: unknown): Dependency | null {
  if (REDIS_CONNECTION_ERRORS.some((type) => error instanceof type)) return 'redis'
  if (error instanceof ErrorReply) return REDIS_UNAVAILABLE_REPLY.test(error.message) ? 'redis' : null
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code !== 'string') return null
  if (error instanceof postgres.PostgresError) return POSTGRES_UNAVAILABLE_STATES.test(code) ? 'postgres' : null
  if (POSTGRES_CONNECTION_CODES.has(code)) return 'postgres'
  if (SOCKET_ERROR_CODES.has(code)) return 'query' in (error as object) ? 'postgres' : 'redis'
  return null
}

/**
 * Postgres answered with an error about the statement's data (a value it cannot take that
 * got past validation), not a lost connection, a timeout or a server going away: the server
 * is fine, and any other server would refuse the statement the same way.
 */
export const refusedByPostgres = (error: unknown) => error instanceof postgres.PostgresError && failedDependency(error) === null

/** Elysia checked a handler's answer against the route's response schema, and it failed: our bug. */
export function isResponseSchemaFailure(code: string | number, error: unknown): boolean {
  return code === 'VALIDATION' && (error as { type?: unknown } | null)?.type === 'response'
}

/**
 * One handler maps every failure to the contract's shape. Unknown errors are logged by
 * the caller's hook with the request id and answered without their text or stack.
 */
export function toErrorResponse(code: string | number, error: unknown): { status: number; body: ErrorBody; headers?: Record<string, string> } {
  // Elysia wraps whatever a parse hook throws; the body parser throws the contract's errors.
  if (error instanceof ParseError && error.cause instanceof AppError) error = error.cause
  if (error instanceof AppError) {
    const headers = error.extra.retryAfterSeconds ? { 'retry-after': String(Math.max(1, Math.ceil(error.extra.retryAfterSeconds))) } : undefined
    return { status: error.status, body: errorBody(error.code, error.message, error.extra.details), headers }
  }
  if (isResponseSchemaFailure(code, error)) return internalError()
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
  if (failedDependency(error) !== null) {
    return { status: 503, body: errorBody('DEPENDENCY_DOWN', 'A backing service is unavailable, try again shortly') }
  }
  return internalError()
}

function internalError() {
  return { status: 500, body: errorBody('INTERNAL', 'Something went wrong on our side') }
}

export const errorResponses = {
  400: ErrorBody,
  401: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  413: ErrorBody,
  415: ErrorBody,
  422: ErrorBody,
  429: ErrorBody,
  503: ErrorBody,
}
