/** Errors of the typed client, in the contract's shape: a fixed code, a message, and the field details. */

/** The request never got an answer (offline, DNS, connection refused); `status` is 0. */
export const NETWORK_ERROR = 'NETWORK_ERROR'
/** Raised by the client itself when a call needs tokens and there are none. */
export const NOT_LOGGED_IN = 'NOT_LOGGED_IN'

export type ErrorDetail = { field: string; message: string }

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[] = [],
    /** From `Retry-After` on a 429. */
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

/** A 401 means the session is over: logging in again is the only way on. */
export function isSessionEnded(error: unknown): boolean {
  return error instanceof ApiError && error.status === 401
}

/** A WebSocket request that failed: an `error` frame's code, or the close that ended the socket. */
export class ChatSocketError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
    this.name = 'ChatSocketError'
  }
}
