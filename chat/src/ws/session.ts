import { CLOSE, type ServerFrame } from '@chat/common/chat-protocol'
import type { AccessClaims, TokenVerifier } from '@chat/common/tokens'
import { authFailures } from '../metrics'
import type { Admission } from './admission'

/** How a session talks back on its socket. */
export type SessionIo = {
  send(frame: ServerFrame): void
  fail(code: string, message: string, ref?: string | number): void
  close(code: number, reason: string): void
  isClosed(): boolean
}

export type SessionDeps = {
  verifier: TokenVerifier
  admission: Admission
  authTimeoutMs: number
  /** The socket now belongs to these claims; resolves once the user's events reach this instance. */
  onAccepted(claims: AccessClaims): Promise<void>
}

/**
 * Who a socket belongs to, and until when: the first token (upgrade header or `auth`
 * frame) admits it under the per-user limit, later ones of the same user renew it; the
 * socket closes when no token arrives in time, when the token expires, or on a token of
 * another user. All the state that changes with authentication lives here.
 */
export function createSession(deps: SessionDeps, io: SessionIo) {
  let claims: AccessClaims | null = null
  let authTimer: Timer | null = null
  let expiryTimer: Timer | null = null
  /** The token check under way, which later frames wait for in arrival order. */
  let checking: Promise<void> | null = null

  const hold = (work: Promise<void>) => {
    const current = work.finally(() => {
      if (checking === current) checking = null
    })
    checking = current
    return current
  }

  const clearTimers = () => {
    for (const timer of [authTimer, expiryTimer]) if (timer !== null) clearTimeout(timer)
    authTimer = expiryTimer = null
  }

  async function accept(next: AccessClaims, ref?: string | number) {
    if (io.isClosed()) return
    if (!(await deps.admission.admit(next.userId))) {
      io.fail('TOO_MANY_CONNECTIONS', `At most ${deps.admission.max} sockets per user`)
      return io.close(CLOSE.RATE_LIMITED, 'too many connections')
    }
    // Closed while Redis answered: the place just taken is given back at once.
    if (io.isClosed()) return void deps.admission.release()
    claims = next
    await deps.onAccepted(next)
    if (io.isClosed()) return
    clearTimers()
    expiryTimer = setTimeout(() => io.close(CLOSE.UNAUTHENTICATED, 'token expired'), Math.max(0, next.expiresAt - Date.now()))
    io.send({ type: 'ready', userId: next.userId, sessionId: next.sessionId, ...(ref === undefined ? {} : { ref }) })
  }

  async function authenticate(token: string, ref?: string | number) {
    const result = await deps.verifier.verify(token)
    if (!result.ok) {
      authFailures.inc({ reason: result.code })
      if (result.code === 'DEPENDENCY_DOWN') return io.fail('UNAVAILABLE', 'Token keys are unavailable, try again shortly', ref)
      return io.close(result.code === 'TOKEN_REVOKED' ? CLOSE.REVOKED : CLOSE.UNAUTHENTICATED, result.code)
    }
    if (claims !== null && claims.userId !== result.claims.userId) {
      authFailures.inc({ reason: 'ANOTHER_USER' })
      return io.close(CLOSE.UNAUTHENTICATED, 'a socket belongs to one user')
    }
    await accept(result.claims, ref)
  }

  return {
    /** The authenticated user, or null before the first token was accepted. */
    get userId(): string | null {
      return claims?.userId ?? null
    },
    /** `upgradeClaims`: the check of the upgrade's Bearer header, when there was one; else an `auth` frame is awaited. */
    open(upgradeClaims: Promise<AccessClaims | null> | null) {
      if (upgradeClaims !== null) {
        return void hold(upgradeClaims.then((found) => (found === null ? io.close(CLOSE.UNAUTHENTICATED, 'invalid token') : accept(found))))
      }
      authTimer = setTimeout(() => {
        if (claims === null) io.close(CLOSE.AUTH_TIMEOUT, 'no auth frame in time')
      }, deps.authTimeoutMs)
    },
    /** An `auth` frame: later frames wait until it is checked. */
    authenticate: (token: string, ref?: string | number) => hold(authenticate(token, ref)),
    /**
     * The token check under way, or null: a client may send `join` right behind `auth`
     * without waiting for `ready`, and it is handled after the check.
     */
    pendingCheck: () => checking,
    end: clearTimers,
  }
}
export type Session = ReturnType<typeof createSession>
