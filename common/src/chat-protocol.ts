import { t } from 'elysia'
import { PLAIN_TEXT_PATTERN, UUID_PATTERN, Uuid } from './schemas'

/**
 * The chat's wire contract: the message resource and every WebSocket frame. The server
 * validates client frames with these, the REST routes reuse `Message`, and the docs and
 * the typed client read them too.
 */

export const Message = t.Object(
  {
    id: Uuid,
    room: Uuid,
    seq: t.Integer({ minimum: 1, description: 'Per room 1, 2, 3, … with no gaps across messages and events (so messages alone may skip numbers); the history and replay cursor' }),
    senderId: Uuid,
    body: t.String(),
    clientId: t.String(),
    createdAt: t.String({ format: 'date-time' }),
    replyTo: t.Optional(t.String({ format: 'uuid', pattern: UUID_PATTERN, description: 'The message of the same room this one answers; kept after either is deleted' })),
    editedAt: t.Optional(t.String({ format: 'date-time', description: 'Set once the sender has edited the body' })),
    deleted: t.Optional(t.Literal(true, { description: 'The message was deleted: `body` is "" and the text is gone from storage' })),
    reactions: t.Optional(
      t.Array(
        t.Object({
          emoji: t.String(),
          count: t.Integer({ minimum: 1 }),
          me: t.Boolean({ description: 'Whether the caller is one of them' }),
        }),
        { description: 'In history: the reactions, in the order they were first given' },
      ),
    ),
  },
  { title: 'Message' },
)
export type Message = typeof Message.static

/** What every event of a room's stream carries, besides its kind, target and data. */
const eventFields = {
  room: Uuid,
  seq: t.Integer({ minimum: 1, description: 'Taken from the same per-room sequence as messages' }),
  actorId: t.String({ format: 'uuid', pattern: UUID_PATTERN, description: 'Who made the change' }),
  createdAt: t.String({ format: 'date-time' }),
}
export const MemberChange = t.Union([
  t.Literal('joined'),
  t.Literal('left'),
  t.Literal('added'),
  t.Literal('removed'),
  t.Literal('banned'),
  t.Literal('unbanned'),
  t.Literal('role'),
])
export type MemberChange = typeof MemberChange.static
export const MemberRole = t.Union([t.Literal('owner'), t.Literal('admin'), t.Literal('member')])
export type MemberRole = typeof MemberRole.static

/**
 * A change to a room's timeline other than a new message: it takes the room's next `seq`,
 * is delivered live as an `event` frame and replayed by `join{since}` like messages.
 */
export const RoomEvent = t.Union(
  [
    t.Object({ ...eventFields, kind: t.Literal('edit'), target: Uuid, data: t.Object({ body: t.String() }) }),
    t.Object({ ...eventFields, kind: t.Literal('delete'), target: Uuid, data: t.Object({}) }),
    t.Object({ ...eventFields, kind: t.Literal('reaction'), target: Uuid, data: t.Object({ emoji: t.String(), added: t.Boolean() }) }),
    t.Object({
      ...eventFields,
      kind: t.Literal('member'),
      data: t.Object({
        userId: Uuid,
        change: MemberChange,
        role: t.Optional(MemberRole),
      }),
    }),
    t.Object({ ...eventFields, kind: t.Literal('room'), data: t.Object({ name: t.Optional(t.String()), topic: t.Optional(t.String()) }) }),
  ],
  { title: 'RoomEvent' },
)
export type RoomEvent = typeof RoomEvent.static
export type RoomEventKind = RoomEvent['kind']

/** One item of a room's stream as `GET /chat/rooms/:id/events` answers it: a message (with `kind: "message"`) or an event. */
export const TimelineItem = t.Union([t.Composite([Message, t.Object({ kind: t.Literal('message') })]), RoomEvent], { title: 'TimelineItem' })
export type TimelineItem = typeof TimelineItem.static

/** What a room's live feed carries in seq order: a stored message or an event. */
export type StreamItem = Message | RoomEvent
export const isRoomEvent = (item: StreamItem): item is RoomEvent => 'kind' in item

const RoomId = Uuid
/** Optional correlation id; the answer to a frame echoes it. */
const Ref = t.Optional(t.Union([t.String({ maxLength: 64 }), t.Integer()]))

/** Unknown fields are refused, as on REST: a frame is exactly what its schema says. */
const exact = { additionalProperties: false } as const

export const ClientFrame = t.Union([
  t.Object({ type: t.Literal('auth'), token: t.String({ minLength: 1, maxLength: 4096 }), ref: Ref }, exact),
  t.Object({ type: t.Literal('join'), room: RoomId, since: t.Optional(t.Integer({ minimum: 0 })), ref: Ref }, exact),
  t.Object({ type: t.Literal('leave'), room: RoomId, ref: Ref }, exact),
  t.Object(
    {
      type: t.Literal('send'),
      room: RoomId,
      // The length limit is configurable, so it is checked by the handler, not here.
      body: t.String(),
      clientId: t.String({
        minLength: 1,
        maxLength: 64,
        // Plain text only: Postgres refuses a NUL, which would fail every message stored with this one.
        pattern: PLAIN_TEXT_PATTERN,
        description: 'Chosen by the client, plain text (no control characters); a re-send with the same id is stored once',
      }),
      replyTo: t.Optional(t.String({ format: 'uuid', pattern: UUID_PATTERN, description: 'The id of a message of the same room, else `error` BAD_REPLY' })),
      ref: Ref,
    },
    exact,
  ),
  t.Object({ type: t.Literal('typing'), room: RoomId, ref: Ref }, exact),
])
/** The `ref` a frame may carry, and so the only one an answer echoes. */
export const FrameRef = Ref
export type ClientFrame = typeof ClientFrame.static

/** Why a user's membership of a room ended: they left, an owner/admin removed or banned them, or the room was deleted. */
export type LeftReason = 'left' | 'removed' | 'banned' | 'deleted'

export type ServerFrame =
  | { type: 'ready'; userId: string; sessionId: string; ref?: string | number }
  | { type: 'joined'; room: string; lastSeq: number; ref?: string | number }
  | ({ type: 'message' } & Message)
  | ({ type: 'event' } & RoomEvent)
  | { type: 'ack'; ref?: string | number; clientId: string; room: string; seq: number; id: string }
  | { type: 'presence'; room: string; userId: string; online: boolean }
  | { type: 'typing'; room: string; userId: string }
  /** With `ref`: the answer to this socket's `leave`. With `reason`: the membership ended, sent to every socket of the user. */
  | { type: 'left'; room: string; reason?: LeftReason; ref?: string | number }
  /** The user became a member of the room (joined, was added, a DM opened, an invite accepted), sent to every socket of the user. */
  | { type: 'room_added'; room: string }
  /** A member's read marker moved; to sockets that joined the room, coalesced per room. */
  | { type: 'receipt'; room: string; userId: string; seq: number }
  | { type: 'error'; code: string; message: string; ref?: string | number }

export { CLOSE } from './close-codes'
