import { CLOSE, type ClientFrame, type LeftReason, type ServerFrame } from '@chat/common/chat-protocol'
import type { Logger } from '@chat/common/logger'
import { countDependencyError } from '@chat/common/metrics'
import type { AccessClaims, TokenVerifier } from '@chat/common/tokens'
import type { ChatConfig } from '../config'
import type { MessageStore } from '../messages/store'
import { messagesReceived } from '../metrics'
import type { Hub, Member } from '../realtime/hub'
import type { Presence } from '../realtime/presence'
import type { MembershipPair } from '../rooms/service'
import { createAdmission } from './admission'
import { parseClientFrame } from './frames'
import { createInFlight } from './in-flight'
import { createWindowCounter } from './limits'
import { createRoomAccess } from './room-access'
import { bodyProblem, createSendPolicy } from './send-policy'
import { createSession } from './session'

const BAD_FRAME_WINDOW_MS = 60_000

/** Bun's ServerWebSocket, narrowed to what a connection uses. */
export type RawSocket = {
  send(data: string): number
  /** Writes everything sent inside the callback together (Bun's ServerWebSocket.cork). */
  cork(callback: () => void): void
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
  store: MessageStore
  /** Asked at every `join`: whether the user is a member of the room now. */
  isMember(roomId: string, userId: string): Promise<boolean>
  /** For each (user, room), why the membership ended, or null while it lasts (see rooms/service.ts). */
  findEndedMemberships(pairs: MembershipPair[]): Promise<(LeftReason | null)[]>
  /**
   * Files the socket under its session and user (null: forget it), for revocation and
   * membership events; resolves once the user's events reach this instance.
   */
  register(connection: Connection, claims: AccessClaims | null): Promise<void>
}

const WS_OPEN = 1

/**
 * One socket: reads frames and answers them. The state lives in parts with one job each:
 * the session (who, until when), room access (joined rooms), the send policy (pace and
 * bodies), the bad-frame counter and the frames in flight (for the drain). Frames are
 * answered on the socket; nothing here throws to Elysia.
 */
export function createConnection(ctx: ConnectionContext, socket: RawSocket, socketId: string) {
  const { config } = ctx
  let closed = false
  let restarting = false
  const access = createRoomAccess(config.MAX_ROOMS_PER_SOCKET)
  const policy = createSendPolicy(config)
  const badFrames = createWindowCounter(config.MAX_BAD_FRAMES_PER_MINUTE, BAD_FRAME_WINDOW_MS)
  const inFlight = createInFlight()
  const admission = createAdmission(ctx.presence, ctx.log, socketId, config.MAX_SOCKETS_PER_USER)

  /**
   * Frames for this socket wait in `outbox` until the task that sent them ends and then go
   * out corked, in one write: a committed batch answers a burst's twenty sends with twenty
   * acks, which would otherwise be twenty writes. Anything that lets another party write
   * to the socket (a topic subscription) or ends it flushes first, so the order holds.
   */
  let outbox: string[] = []
  const flush = () => {
    const frames = outbox
    outbox = []
    if (closed || frames.length === 0) return
    if (frames.length === 1) socket.send(frames[0])
    else socket.cork(() => frames.forEach((frame) => socket.send(frame)))
  }
  const send = (frame: ServerFrame) => {
    if (!closed && outbox.push(JSON.stringify(frame)) === 1) queueMicrotask(flush)
  }
  const fail = (code: string, message: string, ref?: string | number) => send(ref === undefined ? { type: 'error', code, message } : { type: 'error', code, message, ref })
  const close = (code: number, reason: string) => {
    flush()
    if (!closed) socket.close(code, reason)
  }
  const withRef = (ref: string | number | undefined) => (ref === undefined ? {} : { ref })

  const session = createSession(
    { verifier: ctx.verifier, admission, authTimeoutMs: config.WS_AUTH_TIMEOUT_MS, onAccepted: (claims) => ctx.register(connection, claims) },
    { send, fail, close, isClosed: () => closed },
  )

  const member: Member = {
    get userId() {
      return session.userId!
    },
    send,
    subscribe: (topic) => {
      flush()
      socket.subscribe(topic)
    },
    unsubscribe: (topic) => socket.unsubscribe(topic),
    isOpen: () => !closed && socket.readyState === WS_OPEN,
  }

  /** Membership is asked of Postgres every time; nothing is remembered from an earlier join. */
  async function join(frame: Extract<ClientFrame, { type: 'join' }>) {
    const { room, ref } = frame
    const refusal = access.startJoin(room)
    if (refusal === 'ALREADY_JOINED') return fail(refusal, 'This socket already joined the room', ref)
    if (refusal === 'TOO_MANY_ROOMS') return fail(refusal, `At most ${config.MAX_ROOMS_PER_SOCKET} joined rooms per socket`, ref)
    // Joined from the moment `joined` is sent: the client may answer it with `leave` at once.
    const outcome: { finished: boolean; ended: LeftReason | null } = { finished: false, ended: null }
    const finish = (succeeded: boolean) => {
      outcome.finished = true
      outcome.ended = access.finishJoin(room, succeeded)
    }
    try {
      if (!(await ctx.isMember(room, member.userId))) return fail('NOT_A_MEMBER', 'Join the room over REST first', ref)
      await ctx.hub.join(member, room, frame.since, (lastSeq) => {
        finish(true)
        // The membership ended while the join was under way: no `joined`, and the hub,
        // which finds the socket gone from the room, replays and subscribes nothing
        // (`finally` below says `left`).
        if (outcome.ended !== null) return void ctx.hub.leave(member, room).catch(() => {})
        send({ type: 'joined', room, lastSeq, ...withRef(ref) })
      })
    } finally {
      if (!outcome.finished) finish(false)
      if (outcome.ended !== null) await dropRoom(room, outcome.ended)
    }
  }

  async function leave(frame: Extract<ClientFrame, { type: 'leave' }>) {
    if (!access.leave(frame.room)) return fail('NOT_JOINED', 'This socket has not joined the room', frame.ref)
    // Answered once the live stream has stopped (synchronously), not after the presence
    // update: a `join` sent right behind the `leave` must not get its `joined` first.
    const stopped = ctx.hub.leave(member, frame.room)
    send({ type: 'left', room: frame.room, ...withRef(frame.ref) })
    await stopped
  }

  /** Stops the room's live stream on this socket (synchronously, in hub.leave) and says why. */
  async function dropRoom(room: string, reason: LeftReason) {
    const stopped = ctx.hub.leave(member, room)
    send({ type: 'left', room, reason })
    await stopped
  }

  /**
   * Goes to the store without any await before it, so sends reach the store's queue in the
   * order their frames arrived; membership is checked there, in the storing transaction.
   */
  async function sendMessage(frame: Extract<ClientFrame, { type: 'send' }>) {
    const { room, body, clientId, replyTo, ref } = frame
    messagesReceived.inc()
    const verdict = policy.checkSend()
    if (verdict === 'warn') fail('RATE_LIMITED', `Slow down: at most ${config.SEND_PER_SECOND} messages per second`)
    if (verdict === 'close') close(CLOSE.RATE_LIMITED, 'rate limited')
    if (verdict !== 'accept') return
    const problem = bodyProblem(body, config.MESSAGE_MAX_CHARS)
    if (problem !== null) return fail('INVALID_MESSAGE', problem, ref)
    const result = await ctx.store.store({ roomId: room, senderId: member.userId, body, clientId, ...(replyTo === undefined ? {} : { replyTo }) })
    if (!result.ok && result.reason === 'NOT_A_MEMBER') return fail('NOT_A_MEMBER', 'You are not a member of this room; the message was not stored', ref)
    if (!result.ok && result.reason === 'BAD_REPLY') return fail('BAD_REPLY', 'replyTo is not a message of this room; the message was not stored', ref)
    if (!result.ok) return fail('UNAVAILABLE', 'The message was not stored; send it again with the same clientId', ref)
    const { seq, id } = result.message
    send({ type: 'ack', ...withRef(ref), clientId, room, seq, id })
  }

  function typing(frame: Extract<ClientFrame, { type: 'typing' }>) {
    if (!access.has(frame.room)) return fail('NOT_JOINED', 'This socket has not joined the room', frame.ref)
    if (policy.allowsTyping(frame.room)) ctx.hub.typing(frame.room, member.userId).catch(() => {})
  }

  function badFrame(message: string, ref?: string | number) {
    fail('BAD_FRAME', message, ref)
    if (badFrames.record()) close(CLOSE.BAD_FRAMES, 'too many bad frames')
  }

  /** Answers one frame; never throws. Frames behind a token check wait for it, in arrival order. */
  async function handle(frame: ClientFrame) {
    try {
      const check = session.pendingCheck()
      if (check !== null) await check
      if (frame.type === 'auth') return await session.authenticate(frame.token, frame.ref)
      if (session.userId === null) return fail('UNAUTHENTICATED', 'Send an auth frame first', frame.ref)
      switch (frame.type) {
        case 'join':
        case 'leave':
          if (!policy.allowsJoinOrLeave()) return fail('RATE_LIMITED', `Slow down: at most ${config.JOIN_PER_SECOND} joins and leaves per second`, frame.ref)
          return await (frame.type === 'join' ? join(frame) : leave(frame))
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
      return session.userId
    },
    open: session.open,
    async receive(data: unknown) {
      const parsed = parseClientFrame(data, config.JSON_MAX_DEPTH)
      if (!parsed.ok) return badFrame(parsed.message, parsed.ref)
      const frame = parsed.frame
      if (restarting) return fail('UNAVAILABLE', 'This instance is restarting; reconnect and try again', frame.ref)
      await inFlight.track(frame, handle(frame))
    },
    /** Session revoked or account deleted. */
    revoke() {
      close(CLOSE.REVOKED, 'session revoked')
    },
    /**
     * The user's membership of the room ended (on any instance): every socket of the user
     * says `left{room, reason}`, and one that joined the room stops receiving it at once.
     * A join under way is undone when it completes.
     */
    membershipEnded(room: string, reason: LeftReason) {
      const state = access.end(room, reason)
      if (state === 'joining') return
      if (state === 'joined') ctx.hub.leave(member, room).catch((error) => ctx.log.debug('presence update after a membership end failed', { error }))
      send({ type: 'left', room, reason })
    },
    /** The user became a member of a room (on any device): every socket of theirs hears of it, to list the room. */
    roomAdded(room: string) {
      send({ type: 'room_added', room })
    },
    /** The rooms this socket has joined, with its user (none before `ready`). */
    joinedPairs(): MembershipPair[] {
      const userId = session.userId
      return userId === null ? [] : access.joinedRooms().map((roomId) => ({ userId, roomId }))
    },
    /**
     * A membership found ended by asking Postgres (a notice may have been lost): handled
     * like the notice, unless the room was dropped meanwhile (the notice came after all).
     */
    endedAsFound(room: string, reason: LeftReason) {
      if (access.has(room)) connection.membershipEnded(room, reason)
    },
    /**
     * Graceful shutdown of this instance. Later frames are refused; those being handled
     * get `drainMs` to finish, so a message being stored is acknowledged. A `send` still
     * unanswered then gets UNAVAILABLE (it may yet be stored: resending it with its
     * clientId is safe either way). Then 1012 tells the client to reconnect elsewhere.
     */
    async restart(drainMs: number) {
      restarting = true
      for (const frame of await inFlight.drain(drainMs)) {
        fail('UNAVAILABLE', 'The instance is restarting; send the message again with the same clientId', frame.ref)
      }
      close(CLOSE.SERVICE_RESTART, 'instance restarting')
    },
    async closed() {
      closed = true
      session.end()
      if (session.userId === null) return void (await admission.release())
      await ctx.register(connection, null)
      await Promise.allSettled(access.takeAll().map((room) => ctx.hub.leave(member, room)))
      await admission.release()
    },
  }
  return connection
}
export type Connection = ReturnType<typeof createConnection>
