import type { ServerWebSocket } from 'bun'
import { Elysia } from 'elysia'
import { withTimeout } from '@chat/common/async'
import { AppError } from '@chat/common/errors'
import { authenticate, type AccessClaims } from '@chat/common/tokens'
import type { ChatDeps } from '../deps'
import { authFailures, countSocketClose, openSockets } from '../metrics'
import type { UserBroker } from '../realtime/user-broker'
import { createConnection, type Connection, type ConnectionContext } from './connection'
import { createSocketIndex } from './socket-index'

/**
 * On shutdown, frames being handled get this long before the socket closes with 1012:
 * far more than a commit takes, and short enough to end well inside an orchestrator's
 * stop timeout (Docker's default is 10 s, the test harness's 5 s).
 */
const RESTART_DRAIN_MS = 3000
/**
 * How long `ready` waits for the subscription to the user's events. Past it the socket
 * works anyway (Redis is slow or away): membership is still checked at every send and join,
 * only the `left` notice could be late.
 */
const USER_SUBSCRIBE_WAIT_MS = 2000

/** What Elysia keeps on each Bun socket: the id its handlers know the socket by. */
type ElysiaSocketData = { id: string }

/**
 * `GET /chat/ws`. The upgrade is refused for a browser Origin outside the allow-list and
 * for a bad Bearer header; without a header the first frame must be `auth`.
 */
export function wsController(deps: ChatDeps, context: Omit<ConnectionContext, 'register'>, users: UserBroker) {
  const allowedOrigins = new Set((deps.config.WS_ALLOWED_ORIGINS ?? deps.config.PUBLIC_ORIGIN).split(',').map((o) => o.trim()))
  const all = new Map<string, Connection>()
  const index = createSocketIndex<Connection>()
  /** Per user with a socket here: the subscription to their events (made on the first socket, dropped after the last). */
  const subscriptions = new Map<string, Promise<void>>()

  let restarting = false
  /** Closed sockets still releasing presence and rooms, which shutdown waits for before Redis goes. */
  const cleanups = new Set<Promise<void>>()
  const register = async (connection: Connection, claims: AccessClaims | null) => {
    if (claims === null) {
      const lastOf = index.remove(connection)
      if (lastOf === null) return
      subscriptions.delete(lastOf)
      await users.unsubscribe(lastOf).catch((error) => deps.log.debug('user unsubscribe failed', { error }))
      return
    }
    if (index.put(connection, claims.sessionId, claims.userId)) subscriptions.set(claims.userId, users.subscribe(claims.userId))
    // A revocation that arrived between the token check and this filing found no socket to
    // close; the list is in memory, so asking again costs nothing.
    if (deps.revocations.isRevoked(claims.sessionId)) return connection.revoke()
    await withTimeout(subscriptions.get(claims.userId)!, USER_SUBSCRIBE_WAIT_MS).catch((error) =>
      deps.log.warn('user events subscription delayed; membership notices may be late', { error }),
    )
  }
  const connectionContext: ConnectionContext = { ...context, register }

  deps.revocations.onRevoked((event) => {
    for (const sid of event.sessionIds) for (const connection of index.ofSession(sid)) connection.revoke()
  })
  users.onEvent((userId, event) => {
    for (const connection of index.ofUser(userId)) {
      if (event.kind === 'membership-ended') connection.membershipEnded(event.room, event.reason)
      else connection.roomAdded(event.room)
    }
  })
  /**
   * Asks Postgres, in one statement, about every room every socket here has joined, and
   * ends the memberships that ended: after the user-event broker was away, and every
   * MEMBERSHIP_RECHECK_INTERVAL_MS in case a notice was lost on its way (a failed publish).
   */
  const recheckMemberships = async () => {
    const joined = [...all.values()].flatMap((connection) => connection.joinedPairs().map((pair) => ({ connection, pair })))
    const reasons = await context.findEndedMemberships(joined.map(({ pair }) => pair))
    joined.forEach(({ connection, pair }, i) => {
      const reason = reasons[i]
      if (reason !== null) connection.endedAsFound(pair.roomId, reason)
    })
  }
  const recheckLogged = () => void recheckMemberships().catch((error) => deps.log.warn('membership re-check failed', { error }))
  users.onReconnect(recheckLogged)
  const recheckTimer = setInterval(recheckLogged, deps.config.MEMBERSHIP_RECHECK_INTERVAL_MS)
  recheckTimer.unref()

  const controller = new Elysia({ name: 'ws-controller' }).ws('/chat/ws', {
    async beforeHandle({ request }) {
      const origin = request.headers.get('origin')
      if (origin !== null && !allowedOrigins.has(origin)) throw new AppError('FORBIDDEN', 'This Origin may not open chat sockets')
      // A header, when present, is checked before the upgrade so a bad token never gets a socket.
      if (request.headers.has('authorization')) {
        await authenticate(deps.verifier, request.headers.get('authorization')).catch((error: unknown) => {
          authFailures.inc({ reason: error instanceof AppError ? error.code : 'INTERNAL' })
          throw error
        })
      }
    },
    open(ws) {
      const connection = createConnection(connectionContext, ws.raw, ws.id)
      all.set(ws.id, connection)
      openSockets.inc()
      // Upgraded while the instance began to stop: it missed closeAllForRestart.
      if (restarting) return void connection.restart(RESTART_DRAIN_MS)
      const header = ws.data.headers.authorization
      // Not awaited here: the connection holds frames that arrive meanwhile until the check is done.
      connection.open(header ? authenticate(deps.verifier, header).catch(() => null) : null)
    },
    async close(ws, code) {
      const connection = all.get(ws.id)
      all.delete(ws.id)
      openSockets.dec()
      countSocketClose(code)
      if (connection === undefined) return
      const cleanup = connection.closed()
      cleanups.add(cleanup)
      await cleanup
      cleanups.delete(cleanup)
    },
  })

  return {
    controller,
    /**
     * Bun's own handler for incoming frames (given to `listen`): it hands each frame to its
     * connection as received. Elysia's dispatcher would JSON-parse it before any check of
     * ours and wrap the socket in a new object with a dozen bound methods, for every frame.
     */
    websocket: {
      message(socket: ServerWebSocket<unknown>, data: string | Buffer) {
        void all.get((socket.data as ElysiaSocketData).id)?.receive(data)
      },
    },
    /**
     * On SIGTERM, once the server no longer accepts: every socket answers what it is
     * handling, then closes with 1012 so its client reconnects to another instance.
     */
    async closeAllForRestart() {
      restarting = true
      clearInterval(recheckTimer)
      await Promise.all([...all.values()].map((connection) => connection.restart(RESTART_DRAIN_MS)))
    },
    /** Resolves once every closed socket has finished its clean-up. */
    async cleanedUp() {
      await Promise.allSettled(cleanups)
    },
    socketEntries: () => [...all.values()].flatMap((c) => (c.userId === null ? [] : [[c.userId, c.id] as [string, string]])),
  }
}

/** Bun's own limits: oversize frames close with 1009, a reader that falls this far behind is dropped. */
export function wsOptions(deps: Pick<ChatDeps, 'config'>) {
  return {
    maxPayloadLength: deps.config.WS_MAX_FRAME_BYTES,
    backpressureLimit: deps.config.WS_BACKPRESSURE_LIMIT_BYTES,
    closeOnBackpressureLimit: true,
    idleTimeout: 120,
    perMessageDeflate: false,
  }
}
