import { Elysia } from 'elysia'
import { AppError } from '@chat/common/errors'
import { authenticate } from '@chat/common/tokens'
import type { ChatDeps } from '../deps'
import { createConnection, type Connection, type ConnectionContext } from './connection'

type Registry = { bySession: Map<string, Set<Connection>>; all: Map<string, Connection> }

/**
 * `GET /chat/ws`. The upgrade is refused for a browser Origin outside the allow-list and
 * for a bad Bearer header; without a header the first frame must be `auth`.
 */
export function wsController(deps: ChatDeps, context: Omit<ConnectionContext, 'track'>) {
  const allowedOrigins = new Set((deps.config.WS_ALLOWED_ORIGINS ?? deps.config.PUBLIC_ORIGIN).split(',').map((o) => o.trim()))
  const registry: Registry = { bySession: new Map(), all: new Map() }

  const sessionOf = new Map<Connection, string>()
  const track = (connection: Connection, sessionId: string | null) => {
    const previous = sessionOf.get(connection)
    if (previous === sessionId) return
    if (previous !== undefined) {
      const set = registry.bySession.get(previous)!
      set.delete(connection)
      if (set.size === 0) registry.bySession.delete(previous)
      sessionOf.delete(connection)
    }
    if (sessionId === null) return
    sessionOf.set(connection, sessionId)
    const set = registry.bySession.get(sessionId) ?? new Set()
    set.add(connection)
    registry.bySession.set(sessionId, set)
  }
  const connectionContext: ConnectionContext = { ...context, track }

  deps.revocations.onRevoked((event) => {
    for (const sid of event.sessionIds) for (const connection of registry.bySession.get(sid) ?? []) connection.revoke()
  })

  const controller = new Elysia({ name: 'ws-controller' }).ws('/chat/ws', {
    async beforeHandle({ request }) {
      const origin = request.headers.get('origin')
      if (origin !== null && !allowedOrigins.has(origin)) throw new AppError('FORBIDDEN', 'This Origin may not open chat sockets')
      // A header, when present, is checked before the upgrade so a bad token never gets a socket.
      if (request.headers.has('authorization')) await authenticate(deps.verifier, request.headers.get('authorization'))
    },
    async open(ws) {
      const connection = createConnection(connectionContext, ws.raw, ws.id)
      registry.all.set(ws.id, connection)
      const header = ws.data.headers.authorization
      const claims = header ? await authenticate(deps.verifier, header).catch(() => null) : null
      connection.open(claims)
    },
    async message(ws, data) {
      await registry.all.get(ws.id)?.receive(data)
    },
    async close(ws) {
      const connection = registry.all.get(ws.id)
      registry.all.delete(ws.id)
      await connection?.closed()
    },
  })

  return {
    controller,
    /** On SIGTERM: every client is told to reconnect (to another instance) with 1012. */
    closeAllForRestart() {
      for (const connection of registry.all.values()) connection.restart()
    },
    socketEntries: () => [...registry.all.values()].flatMap((c) => (c.userId === null ? [] : [[c.userId, c.id] as [string, string]])),
    openSockets: () => registry.all.size,
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
