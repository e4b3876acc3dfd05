import { createEmitter } from './emitter'
import type { Reaction, RoomEvent, TimelineMessage } from './room-events'

/**
 * A room as a consumer shows it: its messages in their current state (edits, deletions and
 * reactions applied), ascending `seq`, and its name and topic when a `room` event said them.
 * Built only from what the server sends (history pages, `message` and `event` frames), so
 * any client that applies the same items holds the same state.
 */
export type RoomState = {
  room: string
  /** The newest seq applied: items at or below it are repeats and change nothing. */
  lastSeq: number
  messages: TimelineMessage[]
  name?: string
  topic?: string
}

export type StreamItem = TimelineMessage | RoomEvent

const isEvent = (item: StreamItem): item is RoomEvent => 'kind' in item && 'actorId' in item

export function createRoomState(room: string): RoomState {
  return { room, lastSeq: 0, messages: [] }
}

/**
 * The state after one item of the room's stream. Pure: the state given is not changed.
 * `me` is the caller's user id, which tells whether a reaction is theirs (`me`). An event
 * about a message not held (older than the history loaded) only moves `lastSeq`.
 */
export function applyToRoom(state: RoomState, item: StreamItem, me?: string): RoomState {
  if (item.room !== state.room || item.seq <= state.lastSeq) return state
  const next = { ...state, lastSeq: item.seq }
  if (!isEvent(item)) return { ...next, messages: [...state.messages, item] }
  switch (item.kind) {
    case 'edit':
      return { ...next, messages: updateMessage(state.messages, item.target, (m) => ({ ...m, body: item.data.body, editedAt: item.createdAt })) }
    case 'delete':
      // As history answers a deleted message: the body gone, the reply link kept.
      return { ...next, messages: updateMessage(state.messages, item.target, (m) => ({ ...m, body: '', deleted: true, reactions: [] })) }
    case 'reaction': {
      const { emoji, added } = item.data
      const mine = me !== undefined && item.actorId === me
      return { ...next, messages: updateMessage(state.messages, item.target, (m) => ({ ...m, reactions: react(m.reactions ?? [], emoji, added, mine) })) }
    }
    case 'room':
      return { ...next, ...(item.data.name === undefined ? {} : { name: item.data.name }), ...(item.data.topic === undefined ? {} : { topic: item.data.topic }) }
    case 'member':
      return next
  }
}

/**
 * Adds a page of history (`listMessages`), which is already in its current state: held
 * messages are replaced, the rest merged in by seq. Events after the page then apply on top.
 */
export function addHistory(state: RoomState, page: TimelineMessage[]): RoomState {
  const bySeq = new Map(state.messages.map((m) => [m.seq, m]))
  for (const message of page) if (message.room === state.room) bySeq.set(message.seq, message)
  const messages = [...bySeq.values()].sort((a, b) => a.seq - b.seq)
  return { ...state, messages, lastSeq: Math.max(state.lastSeq, messages.at(-1)?.seq ?? 0) }
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
    load(room: string, page: TimelineMessage[]) {
      set(addHistory(rooms.get(room) ?? createRoomState(room), page))
    },
    on: events.on,
    /** Stops listening to the socket; the states stay readable. */
    stop() {
      for (const stop of stops) stop()
    },
  }
}

export type RoomTracker = ReturnType<typeof trackRooms>
