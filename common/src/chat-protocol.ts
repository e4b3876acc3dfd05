import { t } from 'elysia'

/**
 * The chat's wire contract: the message resource and every WebSocket frame. The server
 * validates client frames with these, the REST routes reuse `Message`, and the docs and
 * the typed client read them too.
 */

export const Message = t.Object(
  {
    id: t.String({ format: 'uuid' }),
    room: t.String({ format: 'uuid' }),
    seq: t.Integer({ minimum: 1, description: 'Per room 1, 2, 3, … with no gaps; the history and replay cursor' }),
    senderId: t.String({ format: 'uuid' }),
    body: t.String(),
    clientId: t.String(),
    createdAt: t.String({ format: 'date-time' }),
  },
  { title: 'Message' },
)
export type Message = typeof Message.static

const RoomId = t.String({ format: 'uuid' })
/** Optional correlation id; the answer to a frame echoes it. */
const Ref = t.Optional(t.Union([t.String({ maxLength: 64 }), t.Integer()]))

export const ClientFrame = t.Union([
  t.Object({ type: t.Literal('auth'), token: t.String({ minLength: 1, maxLength: 4096 }), ref: Ref }),
  t.Object({ type: t.Literal('join'), room: RoomId, since: t.Optional(t.Integer({ minimum: 0 })), ref: Ref }),
  t.Object({ type: t.Literal('leave'), room: RoomId, ref: Ref }),
  t.Object({
    type: t.Literal('send'),
    room: RoomId,
    // The length limit is configurable, so it is checked by the handler, not here.
    body: t.String(),
    clientId: t.String({ minLength: 1, maxLength: 64, description: 'Chosen by the client; a re-send with the same id is stored once' }),
    ref: Ref,
  }),
  t.Object({ type: t.Literal('typing'), room: RoomId, ref: Ref }),
])
export type ClientFrame = typeof ClientFrame.static

/** Why a user's membership of a room ended: they left, an owner/admin removed or banned them, or the room was deleted. */
export type LeftReason = 'left' | 'removed' | 'banned' | 'deleted'

export type ServerFrame =
  | { type: 'ready'; userId: string; sessionId: string; ref?: string | number }
  | { type: 'joined'; room: string; lastSeq: number; ref?: string | number }
  | ({ type: 'message' } & Message)
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
