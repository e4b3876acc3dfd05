import { createEmitter } from './emitter'
import type { Reaction, RoomEvent, TimelineMessage } from './room-events'

/**
 * A room as a consumer shows it: its messages in their current state (edits, deletions and
 * reactions applied), ascending `seq`; its membership and room changes (the lines a
 * timeline draws between messages); and its name and topic when a `room` event said them.
 * Built only from what the server sends (history pages, `message` and `event` frames), so
 * any client that applies the same items holds the same state.
 */
export type RoomState = {
  room: string
  /** The newest seq of the live stream applied: stream items at or below it are repeats and change nothing. */
  lastSeq: number
  messages: TimelineMessage[]
  /**
   * Per message id, the seq its state reflects: the seq it arrived with, the page's
   * `lastSeq` for a history page, or the last change applied. A change at or below it is
   * already in it, so an event that a history page included is never applied twice.
   */
  reflects: Readonly<Record<string, number>>
  /** `member` and `room` events, ascending `seq`, from the live stream and from `addPastEvents`. */
  notices: Notice[]
  name?: string
  topic?: string
}

export type StreamItem = TimelineMessage | RoomEvent
/** An item of `GET /chat/rooms/:id/events`: an event, or a message marked `kind: "message"`. */
export type PastItem = RoomEvent | (TimelineMessage & { kind: 'message' })
/** A membership or room change: a line of the timeline, not a change to a message. */
export type Notice = Extract<RoomEvent, { kind: 'member' | 'room' }>

const isEvent = (item: StreamItem): item is RoomEvent => 'kind' in item && 'actorId' in item
const isNotice = (event: RoomEvent): event is Notice => event.kind === 'member' || event.kind === 'room'

export function createRoomState(room: string): RoomState {
  return { room, lastSeq: 0, messages: [], reflects: {}, notices: [] }
}

/**
 * The state after one item of the room's live stream. Pure: the state given is not changed.
 * `me` is the caller's user id, which tells whether a reaction is theirs (`me`). An event
 * about a message not held (older than the history loaded) only moves `lastSeq`; so does
 * one the message already reflects (a history page read after it).
 */
export function applyToRoom(state: RoomState, item: StreamItem, me?: string): RoomState {
  if (item.room !== state.room || item.seq <= state.lastSeq) return state
  const next = { ...state, lastSeq: item.seq }
  if (!isEvent(item)) {
    // A history page read after it was sent may hold it already, in a newer state.
    if (state.messages.some((m) => m.id === item.id || m.seq === item.seq)) return next
    return { ...next, messages: insertBySeq(state.messages, item), reflects: { ...state.reflects, [item.id]: item.seq } }
  }
  if (isNotice(item)) {
    const notices = addNotice(state.notices, item)
    if (item.kind === 'member') return { ...next, notices }
    return { ...next, notices, ...(item.data.name === undefined ? {} : { name: item.data.name }), ...(item.data.topic === undefined ? {} : { topic: item.data.topic }) }
  }
  if ((state.reflects[item.target] ?? Number.POSITIVE_INFINITY) >= item.seq) return next
  const changed = { ...next, reflects: { ...state.reflects, [item.target]: item.seq } }
  switch (item.kind) {
    case 'edit':
      return { ...changed, messages: updateMessage(state.messages, item.target, (m) => ({ ...m, body: item.data.body, editedAt: item.createdAt })) }
    case 'delete':
      // As history answers a deleted message: the body gone, the reply link kept.
      return { ...changed, messages: updateMessage(state.messages, item.target, (m) => ({ ...m, body: '', deleted: true, reactions: [] })) }
    case 'reaction': {
      const { emoji, added } = item.data
      const mine = me !== undefined && item.actorId === me
      return { ...changed, messages: updateMessage(state.messages, item.target, (m) => ({ ...m, reactions: react(m.reactions ?? [], emoji, added, mine) })) }
    }
  }
}

/**
 * Adds a page of history (`listMessages`), which is in its current state as of `asOf`, the
 * page's `lastSeq`: a held message is replaced unless it already reflects a later change
 * (a live event that arrived while the page was loading), the rest are merged in by seq.
 * Live events up to `asOf` about the page's messages then change nothing; later ones apply.
 * Without `asOf` (a server that does not say it) the page counts as of the live stream's seq.
 * The live stream's `lastSeq` is not moved: the stream, not history, says what it delivered.
 */
export function addHistory(state: RoomState, page: TimelineMessage[], asOf: number = state.lastSeq): RoomState {
  const bySeq = new Map(state.messages.map((m) => [m.seq, m]))
  const reflects = { ...state.reflects }
  for (const message of page) {
    if (message.room !== state.room || (reflects[message.id] ?? -1) > asOf) continue
    bySeq.set(message.seq, message)
    reflects[message.id] = asOf
  }
  return { ...state, messages: [...bySeq.values()].sort((a, b) => a.seq - b.seq), reflects }
}

/**
 * Adds the membership and room changes of a stretch of the room's past stream (`listEvents`),
 * to draw them between the messages of history pages. Messages and changes to messages are
 * left to the history pages, which hold them in their current state; repeats are skipped.
 */
export function addPastEvents(state: RoomState, items: readonly PastItem[]): RoomState {
  let notices = state.notices
  for (const item of items) if (item.room === state.room && 'actorId' in item && isNotice(item as RoomEvent)) notices = addNotice(notices, item as Notice)
  return notices === state.notices ? state : { ...state, notices }
}

function addNotice(notices: Notice[], notice: Notice): Notice[] {
  if (notices.some((n) => n.seq === notice.seq)) return notices
  return insertBySeq(notices, notice)
}

function insertBySeq<T extends { seq: number }>(items: T[], item: T): T[] {
  let index = items.length
  while (index > 0 && items[index - 1].seq > item.seq) index--
  return items.toSpliced(index, 0, item)
}

function updateMessage(messages: TimelineMessage[], id: string, change: (message: TimelineMessage) => TimelineMessage): TimelineMessage[] {
  const index = messages.findIndex((m) => m.id === id)
  if (index === -1 || messages[index].deleted === true) return messages
  return messages.with(index, change(messages[index]))
}

/** The server sends a reaction event only when a user's reaction really changes, so counts move by one. */
function react(reactions: Reaction[], emoji: string, added: boolean, mine: boolean): Reaction[] {
  const current = reactions.find((r) => r.emoji === emoji)
  if (added) {
    if (current === undefined) return [...reactions, { emoji, count: 1, me: mine }]
    return reactions.map((r) => (r === current ? { ...r, count: r.count + 1, me: r.me || mine } : r))
  }
  if (current === undefined) return reactions
  if (current.count <= 1) return reactions.filter((r) => r !== current)
  return reactions.map((r) => (r === current ? { ...r, count: r.count - 1, me: mine ? false : r.me } : r))
}

/** What `trackRooms` needs of a socket: its `ready`, `message` and `event` notifications. */
type StreamSource = {
  on(type: 'ready', handler: (payload: { userId: string }) => void): () => void
  on(type: 'message', handler: (payload: TimelineMessage) => void): () => void
  on(type: 'event', handler: (payload: RoomEvent) => void): () => void
}

/**
 * Keeps every joined room's state from a socket's stream (which arrives gapless and without
 * repeats, across reconnects): `get(room)` answers the current state, `on('change')` tells
 * each new one. `load` merges a history page in (call it before or after joining).
 */
export function trackRooms(socket: StreamSource) {
  const rooms = new Map<string, RoomState>()
  const events = createEmitter<{ change: RoomState }>()
  let me: string | undefined
  const set = (state: RoomState) => {
    rooms.set(state.room, state)
    events.emit('change', state)
  }
  const apply = (item: StreamItem) => {
    const current = rooms.get(item.room) ?? createRoomState(item.room)
    const next = applyToRoom(current, item, me)
    if (next !== current) set(next)
  }
  const stops = [
    socket.on('ready', ({ userId }) => {
      me = userId
    }),
    socket.on('message', apply),
    socket.on('event', apply),
  ]
  return {
    get: (room: string): RoomState | undefined => rooms.get(room),
    /** A history page; `asOf` is the page's `lastSeq` (see addHistory). */
    load(room: string, page: TimelineMessage[], asOf?: number) {
      set(addHistory(rooms.get(room) ?? createRoomState(room), page, asOf))
    },
    on: events.on,
    /** Stops listening to the socket; the states stay readable. */
    stop() {
      for (const stop of stops) stop()
    },
  }
}

export type RoomTracker = ReturnType<typeof trackRooms>
