import type { ClientFrame, LeftReason, Message, ServerFrame } from './generated-types'
import type { RoomEvent } from './room-events'
import { createEmitter } from './emitter'
import { ChatSocketError, isSessionEnded } from './errors'
import { backoffDelay, CLOSE, planReconnect } from './reconnect'
import { createSeqTracker } from './seq-tracker'
import type { AccessToken } from './tokens'

/** A renewal is never scheduled sooner than this, so a token that cannot be renewed does not spin. */
const MIN_RENEW_DELAY_MS = 2_000
/** After a failed renewal (network, auth service down), try again this often until the token expires. */
const RENEW_RETRY_MS = 5_000
/** After an `UNAVAILABLE` or `RATE_LIMITED` error, a join or send is tried again this much later. */
const RETRY_DELAY_MS = 1_000
/** The server forwards typing at most once a second per socket and room; sending more often is waste. */
const TYPING_INTERVAL_MS = 1_000
/** Bytes of randomness in a generated `clientId`. */
const CLIENT_ID_BYTES = 16
const WS_OPEN = 1
/** What a client's own `close()` uses; never seen from the server. */
const NORMAL_CLOSURE = 1000

export type ChatSocketStatus = 'connecting' | 'open' | 'reconnecting' | 'closed'
export type Ack = { room: string; seq: number; id: string; clientId: string }

export type ChatSocketEvents = {
  status: ChatSocketStatus
  /** Authenticated (after every connect and every token renewal). */
  ready: { userId: string; sessionId: string }
  joined: { room: string; lastSeq: number }
  /** Each message once, in `seq` order per room (with the room's events), across reconnects. */
  message: Message
  /** Each edit, deletion, reaction, membership or room change once, in `seq` order with the messages. */
  event: RoomEvent
  /** A member's read marker moved. */
  receipt: { room: string; userId: string; seq: number }
  /** The user became a member of a room (on any device, or added by someone else). */
  room_added: { room: string }
  presence: { room: string; userId: string; online: boolean }
  typing: { room: string; userId: string }
  /** Left on request, or the membership ended (`reason` says how). */
  left: { room: string; reason?: LeftReason }
  /** Every `error` frame, and failures to get a token (`TOKEN_UNAVAILABLE`). */
  error: { code: string; message: string }
  /**
   * The socket closed; `willReconnect` false for 4403, 4400, 1009 and `close()`, and for
   * 4401 unless `refreshToken` renewed the token (told after that refresh).
   */
  close: { code: number; reason: string; willReconnect: boolean }
}

export type ChatSocketOptions = {
  /** `ws(s)://host/chat/ws`. */
  url: string
  /** A current access token; called for every connect and when the token's renewal time comes. */
  getToken: () => Promise<AccessToken>
  /**
   * Forces a new token, which `getToken` answers next (the API client's `refresh`). Given,
   * a 4401 (the server refused a token the client thought fresh: a laptop woken from
   * sleep, a clock that is off) is answered with one refresh and a reconnect; a second
   * 4401 before `ready`, or a failed refresh, ends the socket. Without it, 4401 always does.
   */
  refreshToken?: () => Promise<unknown>
}

type Waiter<T> = { resolve: (value: T) => void; reject: (error: Error) => void }
type WantedRoom = { waiters: Waiter<{ room: string; lastSeq: number }>[] }
type PendingSend = Waiter<Ack> & { room: string; body: string; clientId: string; replyTo?: string; promise: Promise<Ack> }
/** What an answer (or `error` frame) with a given `ref` is about. */
type RefTarget = { kind: 'auth' } | { kind: 'join'; room: string } | { kind: 'leave'; room: string } | { kind: 'send'; clientId: string }

/** A `clientId` from `getRandomValues`, which browsers offer on plain-HTTP pages too (unlike `randomUUID`). */
export function createClientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(CLIENT_ID_BYTES))
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')
}

/**
 * The chat WebSocket with the protocol's guarantees kept across reconnects: it
 * authenticates with an `auth` frame (browsers cannot set headers), renews the token
 * before it expires, re-joins every room with `since` = the newest seq seen (so nothing
 * is missed and nothing shown twice), reconnects with backoff after a network loss or a
 * restarting instance, and re-sends unacknowledged messages with their original
 * `clientId` until they are acknowledged (the server stores a re-sent one only once).
 */
export function createChatSocket(options: ChatSocketOptions) {
  const events = createEmitter<ChatSocketEvents>()
  const seqs = createSeqTracker()
  const wanted = new Map<string, WantedRoom>()
  const sends = new Map<string, PendingSend>()
  const leaving = new Map<string, Waiter<void>[]>()
  const lastTypingAt = new Map<string, number>()
  let joined = new Set<string>()
  let refs = new Map<number, RefTarget>()
  let nextRef = 1
  let ws: WebSocket | null = null
  let token: AccessToken | null = null
  let status: ChatSocketStatus = 'connecting'
  let ready = false
  let everReady = false
  /** A 4401 was answered with a forced refresh and no `ready` has come since. */
  let refreshedAfterUnauthenticated = false
  let disposed = false
  let attempt = 0
  /** Bumped whenever the current connection is abandoned, so its late callbacks are ignored. */
  let generation = 0
  let reconnectTimer: ReturnType<typeof setTimeout> | null = null
  let renewTimer: ReturnType<typeof setTimeout> | null = null

  const setStatus = (next: ChatSocketStatus) => {
    if (status === next) return
    status = next
    events.emit('status', next)
  }

  const transmit = (frame: ClientFrame) => {
    if (ws !== null && ws.readyState === WS_OPEN) ws.send(JSON.stringify(frame))
  }

  const withRef = (target: RefTarget) => {
    const ref = nextRef++
    refs.set(ref, target)
    return ref
  }

  const sendJoin = (room: string) => {
    const since = seqs.last(room)
    transmit({ type: 'join', room, ref: withRef({ kind: 'join', room }), ...(since === undefined ? {} : { since }) })
  }

  const sendMessage = (pending: PendingSend) => {
    const replyTo = pending.replyTo === undefined ? {} : { replyTo: pending.replyTo }
    transmit({ type: 'send', room: pending.room, body: pending.body, clientId: pending.clientId, ...replyTo, ref: withRef({ kind: 'send', clientId: pending.clientId }) })
  }

  /** Unacknowledged sends go again after a pause; their clientIds make the repeats harmless. */
  const resendLater = (only?: PendingSend) => {
    const current = generation
    setTimeout(() => {
      if (current !== generation || !ready) return
      for (const pending of only === undefined ? sends.values() : [only]) if (sends.get(pending.clientId) === pending) sendMessage(pending)
    }, RETRY_DELAY_MS)
  }

  async function connect() {
    const current = ++generation
    setStatus(everReady ? 'reconnecting' : 'connecting')
    let fresh: AccessToken
    try {
      fresh = await options.getToken()
    } catch (error) {
      if (current !== generation) return
      // Told like the server's own 4401, so callers handle both the same way.
      if (isSessionEnded(error)) return closed(CLOSE.UNAUTHENTICATED, 'no valid token')
      events.emit('error', { code: 'TOKEN_UNAVAILABLE', message: (error as Error).message })
      return scheduleReconnect('backoff')
    }
    if (current !== generation) return
    const socket = new WebSocket(options.url)
    ws = socket
    socket.onopen = () => authenticate(fresh)
    socket.onmessage = (event) => {
      if (ws === socket) receive(JSON.parse(String(event.data)) as ServerFrame)
    }
    socket.onclose = (event) => {
      if (ws === socket) closed(event.code, event.reason)
    }
  }

  /** Forgets the current connection's state; what is wanted (rooms, sends) stays for the next one. */
  function dropConnection() {
    generation++
    const socket = ws
    ws = null
    ready = false
    joined = new Set()
    refs = new Map()
    if (renewTimer !== null) clearTimeout(renewTimer)
    if (reconnectTimer !== null) clearTimeout(reconnectTimer)
    renewTimer = reconnectTimer = null
    // A room being left is not wanted any more, and a new connection will not join it.
    for (const waiters of leaving.values()) for (const waiter of waiters) waiter.resolve()
    leaving.clear()
    if (socket !== null) {
      socket.onclose = socket.onmessage = socket.onopen = null
      if (socket.readyState <= WS_OPEN) socket.close(NORMAL_CLOSURE)
    }
  }

  function closed(code: number, reason: string) {
    dropConnection()
    if (code === CLOSE.UNAUTHENTICATED && options.refreshToken !== undefined && !refreshedAfterUnauthenticated) {
      return void reconnectWithRefreshedToken(options.refreshToken, reason)
    }
    const plan = planReconnect(code)
    events.emit('close', { code, reason, willReconnect: plan !== 'stop' })
    if (plan === 'stop') return end(code, reason)
    scheduleReconnect(plan)
  }

  /** After a 4401: one forced refresh, then at once a new connection; `close` is told once the outcome is known. */
  async function reconnectWithRefreshedToken(refreshToken: () => Promise<unknown>, reason: string) {
    const current = generation
    refreshedAfterUnauthenticated = true
    setStatus(everReady ? 'reconnecting' : 'connecting')
    const refreshed = await refreshToken().then(
      () => true,
      () => false,
    )
    // Abandoned meanwhile: `reconnect()` or `close()` decided what comes next.
    if (current !== generation) return
    events.emit('close', { code: CLOSE.UNAUTHENTICATED, reason, willReconnect: refreshed })
    if (!refreshed) return end(CLOSE.UNAUTHENTICATED, reason)
    attempt = 0
    void connect()
  }

  function scheduleReconnect(plan: 'now' | 'backoff') {
    setStatus(everReady ? 'reconnecting' : 'connecting')
    const delay = plan === 'now' && attempt === 0 ? 0 : backoffDelay(attempt)
    attempt++
    reconnectTimer = setTimeout(connect, delay)
  }

  /** No more reconnects: every promise still waiting is rejected with the reason. */
  function end(code: number, reason: string) {
    dropConnection()
    setStatus('closed')
    const error = new ChatSocketError(code === NORMAL_CLOSURE ? 'CLOSED' : `CLOSED_${code}`, reason || `The socket closed (${code})`)
    for (const { waiters } of wanted.values()) for (const waiter of waiters) waiter.reject(error)
    for (const room of wanted.keys()) wanted.set(room, { waiters: [] })
    for (const pending of sends.values()) pending.reject(error)
    sends.clear()
  }

  function scheduleRenewal() {
    if (renewTimer !== null) clearTimeout(renewTimer)
    const delay = Math.max(MIN_RENEW_DELAY_MS, token!.renewAt - Date.now())
    renewTimer = setTimeout(renew, delay)
  }

  /** Sends the token the connection should run on; `ready` answers it and schedules the next renewal. */
  function authenticate(next: AccessToken) {
    token = next
    transmit({ type: 'auth', token: next.token, ref: withRef({ kind: 'auth' }) })
  }

  async function renew() {
    const current = generation
    try {
      const fresh = await options.getToken()
      if (current !== generation) return
      // The same token back: it could not be renewed yet (the auth service is down). Sending
      // it again would only bring a `ready` that schedules the next try MIN_RENEW_DELAY_MS on.
      if (fresh.token === token?.token) return retryRenewalLater()
      authenticate(fresh)
    } catch (error) {
      // A refused refresh ends the session; the server closes the socket (4401) when the token expires.
      if (current !== generation || isSessionEnded(error)) return
      retryRenewalLater()
    }
  }

  function retryRenewalLater() {
    if (token !== null && Date.now() < token.expiresAt) renewTimer = setTimeout(renew, RENEW_RETRY_MS)
  }

  function receive(frame: ServerFrame) {
    // An answer settles its ref; an `error` frame's ref is read (then settled) by onError.
    const ref = 'ref' in frame ? frame.ref : undefined
    if (typeof ref === 'number' && frame.type !== 'error') refs.delete(ref)
    switch (frame.type) {
      case 'ready':
        return onReady(frame.userId, frame.sessionId)
      case 'joined': {
        // Left (or failed) while the join was on its way: nothing of the room is wanted any more.
        if (!wanted.has(frame.room)) return sendLeave(frame.room)
        joined.add(frame.room)
        // Without `since`, the room starts here: everything up to `lastSeq` was before our time.
        if (seqs.last(frame.room) === undefined) seqs.advance(frame.room, frame.lastSeq)
        const room = wanted.get(frame.room)
        const answer = { room: frame.room, lastSeq: frame.lastSeq }
        for (const waiter of room?.waiters.splice(0) ?? []) waiter.resolve(answer)
        return events.emit('joined', answer)
      }
      case 'message': {
        // Frames still on their way after `leave()`: not shown, and the room's seq is not learned again.
        if (!wanted.has(frame.room)) return
        const { type: _, ...message } = frame
        if (seqs.accept(message.room, message.seq)) events.emit('message', message)
        return
      }
      case 'event': {
        // Events take the room's seqs like messages, so one tracker keeps both gapless and unrepeated.
        if (!wanted.has(frame.room)) return
        const { type: _, ...event } = frame
        if (seqs.accept(event.room, event.seq)) events.emit('event', event)
        return
      }
      case 'receipt':
        if (!wanted.has(frame.room)) return
        return events.emit('receipt', { room: frame.room, userId: frame.userId, seq: frame.seq })
      case 'room_added':
        return events.emit('room_added', { room: frame.room })
      case 'ack': {
        const pending = sends.get(frame.clientId)
        if (pending === undefined) return
        sends.delete(frame.clientId)
        return pending.resolve({ room: frame.room, seq: frame.seq, id: frame.id, clientId: frame.clientId })
      }
      case 'presence':
        if (!wanted.has(frame.room)) return
        return events.emit('presence', { room: frame.room, userId: frame.userId, online: frame.online })
      case 'typing':
        if (!wanted.has(frame.room)) return
        return events.emit('typing', { room: frame.room, userId: frame.userId })
      case 'left':
        return onLeft(frame.room, frame.reason)
      case 'error':
        return onError(frame.code, frame.message, frame.ref)
    }
  }

  function onReady(userId: string, sessionId: string) {
    scheduleRenewal()
    const first = !ready
    ready = everReady = true
    refreshedAfterUnauthenticated = false
    attempt = 0
    if (first) {
      setStatus('open')
      for (const room of wanted.keys()) sendJoin(room)
      for (const pending of sends.values()) sendMessage(pending)
    }
    events.emit('ready', { userId, sessionId })
  }

  function onLeft(room: string, reason?: LeftReason) {
    joined.delete(room)
    const waiters = leaving.get(room)
    leaving.delete(room)
    for (const waiter of waiters ?? []) waiter.resolve()
    // Not asked for: the membership ended over REST, so the room is not re-joined either.
    if (waiters === undefined) forgetRoom(room, new ChatSocketError('LEFT', 'The membership of this room ended'))
    // Asked for by nobody waiting (a join answered after `leave()`, which resolved back then): told once already.
    if (waiters === undefined || waiters.length > 0) events.emit('left', reason === undefined ? { room } : { room, reason })
  }

  /** Asks the server to stop sending the room; `waiter` is settled by its answer. */
  function sendLeave(room: string, waiter?: Waiter<void>) {
    // Listed even without a waiter, so the answer is not taken for a membership ended over REST.
    leaving.set(room, [...(leaving.get(room) ?? []), ...(waiter === undefined ? [] : [waiter])])
    transmit({ type: 'leave', room, ref: withRef({ kind: 'leave', room }) })
  }

  function forgetRoom(room: string, error: Error) {
    for (const waiter of wanted.get(room)?.waiters ?? []) waiter.reject(error)
    wanted.delete(room)
    seqs.forget(room)
    joined.delete(room)
  }

  function onError(code: string, message: string, ref: string | number | undefined) {
    events.emit('error', { code, message })
    const target = typeof ref === 'number' ? refs.get(ref) : undefined
    if (typeof ref === 'number') refs.delete(ref)
    const retry = code === 'UNAVAILABLE'
    if (code === 'RATE_LIMITED') return resendLater()
    if (target === undefined) return
    const current = generation
    switch (target.kind) {
      case 'auth':
        // The server could not check the token just now; the old one still holds until then.
        if (retry) setTimeout(() => current === generation && token !== null && authenticate(token), RETRY_DELAY_MS)
        return
      case 'join':
        if (code === 'ALREADY_JOINED') return
        if (retry) return void setTimeout(() => current === generation && wanted.has(target.room) && sendJoin(target.room), RETRY_DELAY_MS)
        return forgetRoom(target.room, new ChatSocketError(code, message))
      case 'leave':
        // NOT_JOINED: the room is not joined, which is what was asked.
        return onLeft(target.room)
      case 'send': {
        const pending = sends.get(target.clientId)
        if (pending === undefined) return
        if (retry) return resendLater(pending)
        sends.delete(target.clientId)
        return pending.reject(new ChatSocketError(code, message))
      }
    }
  }

  void connect()

  return {
    get status(): ChatSocketStatus {
      return status
    },
    on: events.on,
    /** The newest seq seen in the room (what a reconnect resumes from). */
    lastSeq: (room: string) => seqs.last(room),

    /**
     * Joins a room (membership is REST) now or as soon as the socket is ready, and again
     * after every reconnect. With `since`, every message after that seq is delivered first.
     */
    join(room: string, joinOptions: { since?: number } = {}): Promise<{ room: string; lastSeq: number }> {
      if (disposed) return Promise.reject(new ChatSocketError('CLOSED', 'The socket is closed'))
      if (joinOptions.since !== undefined) seqs.advance(room, joinOptions.since)
      if (joined.has(room)) return Promise.resolve({ room, lastSeq: seqs.last(room) ?? 0 })
      return new Promise((resolve, reject) => {
        const existing = wanted.get(room)
        if (existing !== undefined) return void existing.waiters.push({ resolve, reject })
        wanted.set(room, { waiters: [{ resolve, reject }] })
        if (ready) sendJoin(room)
      })
    },

    /**
     * Stops receiving a room (the membership stays; leave it over REST to end that). A join
     * still on its way is left as soon as it is answered.
     */
    leave(room: string): Promise<void> {
      const wasJoined = joined.has(room)
      forgetRoom(room, new ChatSocketError('LEFT', 'Left before the join completed'))
      if (!wasJoined || !ready) return Promise.resolve()
      return new Promise((resolve, reject) => sendLeave(room, { resolve, reject }))
    },

    /**
     * Sends a message; resolves once the server has stored it. While disconnected it waits,
     * and it is re-sent after every reconnect until acknowledged. Give `clientId` to show
     * the message before it is acknowledged (the echo carries the same id).
     */
    send(room: string, body: string, clientId: string = createClientId(), sendOptions: { replyTo?: string } = {}): Promise<Ack> {
      if (disposed) return Promise.reject(new ChatSocketError('CLOSED', 'The socket is closed'))
      const existing = sends.get(clientId)
      if (existing !== undefined) return existing.promise
      let waiter!: Waiter<Ack>
      const promise = new Promise<Ack>((resolve, reject) => (waiter = { resolve, reject }))
      const pending: PendingSend = { ...waiter, room, body, clientId, ...(sendOptions.replyTo === undefined ? {} : { replyTo: sendOptions.replyTo }), promise }
      sends.set(clientId, pending)
      if (ready) sendMessage(pending)
      return promise
    },

    /** Tells the room's other members that the user is typing (at most once a second). */
    typing(room: string) {
      const now = Date.now()
      if (!ready || !joined.has(room) || now - (lastTypingAt.get(room) ?? -Infinity) < TYPING_INTERVAL_MS) return
      lastTypingAt.set(room, now)
      transmit({ type: 'typing', room })
    },

    /**
     * Drops the current connection and connects again at once, keeping rooms, seqs and
     * unacknowledged sends: after the network is back, say.
     */
    reconnect() {
      if (disposed) return
      dropConnection()
      attempt = 0
      void connect()
    },

    /** Closes for good; waiting joins and sends are rejected. */
    close() {
      if (disposed) return
      disposed = true
      events.emit('close', { code: NORMAL_CLOSURE, reason: 'closed by the client', willReconnect: false })
      end(NORMAL_CLOSURE, 'closed by the client')
    },
  }
}

export type ChatSocket = ReturnType<typeof createChatSocket>
