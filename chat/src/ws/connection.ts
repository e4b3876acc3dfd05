import { CLOSE, type ClientFrame, type ServerFrame } from '@chat/common/chat-protocol'
import { withTimeout } from '@chat/common/async'
import type { Logger } from '@chat/common/logger'
import { countDependencyError } from '@chat/common/metrics'
import type { AccessClaims, TokenVerifier } from '@chat/common/tokens'
import type { ChatConfig } from '../config'
import type { createMessageStore } from '../messages/store'
import { authFailures, messagesReceived } from '../metrics'
import type { Hub, Member } from '../realtime/hub'
import type { Presence } from '../realtime/presence'
import { createTokenBucket, createWindowCounter } from './limits'
import { parseClientFrame } from './frames'

/** After the RATE_LIMITED warning, this many more refused sends close the socket with 4429. */
const RATE_LIMIT_GRACE = 100
const BAD_FRAME_WINDOW_MS = 60_000
/** Typing events are forwarded at most this often per socket and room. */
const TYPING_MIN_INTERVAL_MS = 1000

/** Bun's ServerWebSocket, narrowed to what a connection uses. */
export type RawSocket = {
  send(data: string): number
  close(code?: number, reason?: string): void
  subscribe(topic: string): void
  unsubscribe(topic: string): void
  readonly readyState: number
}

export type ConnectionContext = {
  config: ChatConfig
  log: Logger
  verifier: TokenVerifier
  hub: Hub
  presence: Presence
  store: ReturnType<typeof createMessageStore>
  isMember(roomId: string, userId: string): Promise<boolean>
  /** Keeps the session → sockets index of the instance current (for revocation). */
  track(connection: Connection, sessionId: string | null): void
}

const WS_OPEN = 1

/**
 * One socket's protocol state: authentication and renewal, joined rooms, limits. Frames
 * are answered on the socket; nothing here throws to Elysia.
 */
export function createConnection(ctx: ConnectionContext, socket: RawSocket, socketId: string) {
  const { config } = ctx
  let claims: AccessClaims | null = null
  let admitted = false
  let closed = false
  let authTimer: Timer | null = null
  let expiryTimer: Timer | null = null
  const rooms = new Set<string>()
  const joining = new Set<string>()
  /**
   * Membership per room as a promise that every send awaits, even once settled: sends then
   * reach the store in the order their frames arrived, although the first ones for a room
   * wait for the membership query together.
   */
  const membership = new Map<string, Promise<boolean>>()
  const sendBucket = createTokenBucket(config.SEND_BURST, config.SEND_PER_SECOND)
  const badFrames = createWindowCounter(config.MAX_BAD_FRAMES_PER_MINUTE, BAD_FRAME_WINDOW_MS)
  let rateWarnedAt: number | null = null
  let refusedAfterWarning = 0
  const lastTyping = new Map<string, number>()
  /** Frames still being handled, so a restart can let them finish: a `send` being stored gets its ack. */
  const inFlight = new Map<Promise<void>, ClientFrame>()
  let restarting = false

  const send = (frame: ServerFrame) => {
    if (!closed) socket.send(JSON.stringify(frame))
  }
  const fail = (code: string, message: string, ref?: string | number) => send(ref === undefined ? { type: 'error', code, message } : { type: 'error', code, message, ref })
  const close = (code: number, reason: string) => {
    if (closed) return
    socket.close(code, reason)
  }

  const member: Member = {
    get userId() {
      return claims!.userId
    },
    send,
    subscribe: (topic) => socket.subscribe(topic),
    unsubscribe: (topic) => socket.unsubscribe(topic),
    isOpen: () => !closed && socket.readyState === WS_OPEN,
    removedFrom(roomId) {
      rooms.delete(roomId)
      membership.delete(roomId)
      send({ type: 'left', room: roomId })
    },
  }

  /** Accepts a (new) token: the first one admits the socket, later ones extend it. */
  async function authenticate(token: string, ref?: string | number) {
    const result = await ctx.verifier.verify(token)
    if (!result.ok) {
      authFailures.inc({ reason: result.code })
      if (result.code === 'DEPENDENCY_DOWN') return fail('UNAVAILABLE', 'Token keys are unavailable, try again shortly', ref)
      return close(result.code === 'TOKEN_REVOKED' ? CLOSE.REVOKED : CLOSE.UNAUTHENTICATED, result.code)
    }
    if (claims !== null && claims.userId !== result.claims.userId) {
      authFailures.inc({ reason: 'ANOTHER_USER' })
      return close(CLOSE.UNAUTHENTICATED, 'a socket belongs to one user')
    }
    await accept(result.claims, ref)
  }

  async function accept(next: AccessClaims, ref?: string | number) {
    if (closed) return
    if (!admitted) {
      const allowed = await ctx.presence.admitSocket(next.userId, socketId, config.MAX_SOCKETS_PER_USER).catch((error) => {
        ctx.log.warn('connection limit unavailable; admitting', { error })
        return true
      })
      if (!allowed) {
        fail('TOO_MANY_CONNECTIONS', `At most ${config.MAX_SOCKETS_PER_USER} sockets per user`)
        return close(CLOSE.RATE_LIMITED, 'too many connections')
      }
      admitted = true
      if (closed) return void ctx.presence.releaseSocket(next.userId, socketId).catch(() => {})
    }
    claims = next
    ctx.track(connection, next.sessionId)
    if (authTimer !== null) clearTimeout(authTimer)
    if (expiryTimer !== null) clearTimeout(expiryTimer)
    expiryTimer = setTimeout(() => close(CLOSE.UNAUTHENTICATED, 'token expired'), Math.max(0, next.expiresAt - Date.now()))
    send({ type: 'ready', userId: next.userId, sessionId: next.sessionId, ...(ref === undefined ? {} : { ref }) })
  }

  async function join(frame: Extract<ClientFrame, { type: 'join' }>) {
    const { room, ref } = frame
    if (rooms.has(room) || joining.has(room)) return fail('ALREADY_JOINED', 'This socket already joined the room', ref)
    if (rooms.size + joining.size >= config.MAX_ROOMS_PER_SOCKET) {
      return fail('TOO_MANY_ROOMS', `At most ${config.MAX_ROOMS_PER_SOCKET} joined rooms per socket`, ref)
    }
    joining.add(room)
    try {
      if (!(await checkMembership(room))) return fail('NOT_A_MEMBER', 'Join the room over REST first', ref)
      await ctx.hub.join(member, room, frame.since, (lastSeq) => {
        rooms.add(room)
        send({ type: 'joined', room, lastSeq, ...(ref === undefined ? {} : { ref }) })
      })
    } finally {
      joining.delete(room)
    }
  }

  async function leave(frame: Extract<ClientFrame, { type: 'leave' }>) {
    if (!rooms.delete(frame.room)) return fail('NOT_JOINED', 'This socket has not joined the room', frame.ref)
    await ctx.hub.leave(member, frame.room)
    send({ type: 'left', room: frame.room, ...(frame.ref === undefined ? {} : { ref: frame.ref }) })
  }

  function checkMembership(room: string): Promise<boolean> {
    let check = membership.get(room)
    if (check === undefined) {
      check = ctx.isMember(room, member.userId)
      membership.set(room, check)
      // A refusal or a failed query is not remembered: the user may join over REST, the database may recover.
      check.then((isMember) => isMember || membership.delete(room), () => membership.delete(room))
    }
    return check
  }

  async function sendMessage(frame: Extract<ClientFrame, { type: 'send' }>) {
    const { room, body, clientId, ref } = frame
    messagesReceived.inc()
    if (!acceptRate()) return
    const problem = bodyProblem(body, config.MESSAGE_MAX_CHARS)
    if (problem !== null) return fail('INVALID_MESSAGE', problem, ref)
    if (!(await checkMembership(room))) return fail('NOT_A_MEMBER', 'Join the room over REST first', ref)
    const result = await ctx.store.store({ roomId: room, senderId: member.userId, body, clientId })
    if (!result.ok) return fail('UNAVAILABLE', 'The message was not stored; send it again with the same clientId', ref)
    const { seq, id } = result.message
    send(ref === undefined ? { type: 'ack', clientId, room, seq, id } : { type: 'ack', ref, clientId, room, seq, id })
  }

  /** The token bucket, with one warning frame before the socket is closed. */
  function acceptRate(): boolean {
    const now = performance.now()
    if (sendBucket.take(now)) {
      if (rateWarnedAt !== null && now - rateWarnedAt > 1000) rateWarnedAt = null
      return true
    }
    if (rateWarnedAt === null) {
      rateWarnedAt = now
      refusedAfterWarning = 0
      fail('RATE_LIMITED', `Slow down: at most ${config.SEND_PER_SECOND} messages per second`)
    } else if (++refusedAfterWarning > RATE_LIMIT_GRACE) {
      close(CLOSE.RATE_LIMITED, 'rate limited')
    }
    return false
  }

  function typing(frame: Extract<ClientFrame, { type: 'typing' }>) {
    if (!rooms.has(frame.room)) return fail('NOT_JOINED', 'This socket has not joined the room', frame.ref)
    const now = performance.now()
    if (now - (lastTyping.get(frame.room) ?? -Infinity) < TYPING_MIN_INTERVAL_MS) return
    lastTyping.set(frame.room, now)
    ctx.hub.typing(frame.room, member.userId).catch(() => {})
  }

  function badFrame(message: string, ref?: string | number) {
    fail('BAD_FRAME', message, ref)
    if (badFrames.record()) close(CLOSE.BAD_FRAMES, 'too many bad frames')
  }

  /**
   * While a token is being checked (the upgrade's header, or an `auth` frame), later frames
   * wait for it in arrival order: a client may send `join` right behind `auth` without
   * waiting for `ready`.
   */
  let authenticating: Promise<void> | null = null
  const holdFramesWhile = (work: Promise<void>) => {
    const current = work.finally(() => {
      if (authenticating === current) authenticating = null
    })
    authenticating = current
    return current
  }

  /** Answers one frame; never throws. */
  async function handle(frame: ClientFrame) {
    try {
      if (authenticating !== null) await authenticating
      if (frame.type === 'auth') return await holdFramesWhile(authenticate(frame.token, frame.ref))
      if (claims === null) return fail('UNAUTHENTICATED', 'Send an auth frame first', frame.ref)
      switch (frame.type) {
        case 'join':
          return await join(frame)
        case 'leave':
          return await leave(frame)
        case 'send':
          return await sendMessage(frame)
        case 'typing':
          return typing(frame)
      }
    } catch (error) {
      countDependencyError(error, 'request')
      ctx.log.warn('frame failed', { type: frame.type, error })
      fail('UNAVAILABLE', 'Could not handle the frame, try again shortly', frame.ref)
    }
  }

  const connection = {
    id: socketId,
    get userId() {
      return claims?.userId ?? null
    },
    /** `upgradeClaims`: the check of the upgrade's Bearer header, when there was one. */
    open(upgradeClaims: Promise<AccessClaims | null> | null) {
      if (upgradeClaims !== null) {
        return void holdFramesWhile(upgradeClaims.then((claims) => (claims === null ? close(CLOSE.UNAUTHENTICATED, 'invalid token') : accept(claims))))
      }
      authTimer = setTimeout(() => {
        if (claims === null) close(CLOSE.AUTH_TIMEOUT, 'no auth frame in time')
      }, config.WS_AUTH_TIMEOUT_MS)
    },
    async receive(data: unknown) {
      const parsed = parseClientFrame(data)
      if (!parsed.ok) return badFrame(parsed.message, parsed.ref)
      const frame = parsed.frame
      if (restarting) return fail('UNAVAILABLE', 'This instance is restarting; reconnect and try again', frame.ref)
      const handling = handle(frame)
      inFlight.set(handling, frame)
      await handling
      inFlight.delete(handling)
    },
    /** Session revoked or account deleted. */
    revoke() {
      close(CLOSE.REVOKED, 'session revoked')
    },
    /**
     * Graceful shutdown of this instance. Later frames are refused; those being handled
     * get `drainMs` to finish, so a message being stored is acknowledged. A `send` still
     * unanswered then gets UNAVAILABLE (it may yet be stored: resending it with its
     * clientId is safe either way). Then 1012 tells the client to reconnect elsewhere.
     */
    async restart(drainMs: number) {
      restarting = true
      await withTimeout(Promise.all(inFlight.keys()), drainMs).catch(() => {})
      for (const frame of inFlight.values()) {
        if (frame.type === 'send') fail('UNAVAILABLE', 'The instance is restarting; send the message again with the same clientId', frame.ref)
      }
      close(CLOSE.SERVICE_RESTART, 'instance restarting')
    },
    async closed() {
      closed = true
      for (const timer of [authTimer, expiryTimer]) if (timer !== null) clearTimeout(timer)
      if (claims === null) return
      ctx.track(connection, null)
      const userId = claims.userId
      await Promise.allSettled([...rooms].map((room) => ctx.hub.leave(member, room)))
      rooms.clear()
      if (admitted) await ctx.presence.releaseSocket(userId, socketId).catch(() => {})
    },
  }
  return connection
}
export type Connection = ReturnType<typeof createConnection>

/** Why a message body is refused, or null. Postgres cannot store NUL, so it is refused here. */
export function bodyProblem(body: string, maxChars: number): string | null {
  if (body.length === 0) return 'The body is empty'
  if (body.length > maxChars && [...body].length > maxChars) return `The body is longer than ${maxChars} characters`
  if (body.includes('\u0000')) return 'The body contains a NUL character'
  return null
}
