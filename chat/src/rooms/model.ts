import { t } from 'elysia'
import { PageLimit } from '@chat/common/pagination'
import { NAME_PATTERN, PLAIN_TEXT_PATTERN, Timestamp, Uuid } from '@chat/common/schemas'

/** Sequence numbers are Postgres bigints; past this a JavaScript number loses digits. */
export const SEQ_MAX = Number.MAX_SAFE_INTEGER

/**
 * Not the form of a direct-message room's name (two user ids joined by `:`): clients show
 * such a room as a conversation with that user, so another room named so would pass for one.
 */
const NOT_A_DIRECT_ROOM_NAME = '(?!\\s*[0-9a-fA-F-]{36}\\s*:\\s*[0-9a-fA-F-]{36}\\s*$)'

export const RoomName = t.String({ minLength: 1, maxLength: 100, pattern: NAME_PATTERN + NOT_A_DIRECT_ROOM_NAME, examples: ['general'] })

export const Room = t.Object(
  {
    id: Uuid,
    name: t.String({ description: 'For a direct-message room: the two user ids, sorted, joined by `:`' }),
    topic: t.String({ description: 'Set by the owner or an admin; empty when none' }),
    private: t.Boolean(),
    ownerId: t.Nullable(Uuid, { description: 'null for direct-message rooms and for rooms their owner left as the last member' }),
    createdAt: Timestamp,
    lastSeq: t.Integer({ minimum: 0, description: '`seq` of the newest message or event, 0 before the first' }),
  },
  { title: 'Room' },
)
export type Room = typeof Room.static

export const RoomWithMembers = t.Composite([Room, t.Object({ members: t.Integer({ minimum: 0, description: 'Number of members' }) })], {
  title: 'RoomWithMembers',
})
export type RoomWithMembers = typeof RoomWithMembers.static

export const RoomListItem = t.Composite(
  [
    Room,
    t.Object({
      unread: t.Optional(
        t.Integer({ minimum: 0, description: 'With `mine=true` only: messages from others after the caller’s read marker, among at most UNREAD_COUNT_MAX (default 1000) messages past it: exact while fewer are, a lower bound after' }),
      ),
    }),
  ],
  { title: 'RoomListItem' },
)
export type RoomListItem = typeof RoomListItem.static

export const RoomPage = t.Object({ items: t.Array(RoomListItem), nextCursor: t.Nullable(t.String()) }, { title: 'RoomPage' })
export type RoomPage = typeof RoomPage.static

export const CreateRoomBody = t.Object({ name: RoomName, private: t.Optional(t.Boolean({ default: false })) }, { additionalProperties: false })
export type CreateRoomBody = typeof CreateRoomBody.static

/** Unknown parameters are allowed (clients add cache busters such as `_=…`); Elysia makes an object strict unless told. */
export const ListRoomsQuery = t.Object(
  {
    mine: t.Optional(t.Boolean({ description: 'true: the caller’s rooms (public, private and direct messages) with `unread`' })),
    q: t.Optional(t.String({ maxLength: 100, pattern: PLAIN_TEXT_PATTERN, description: 'Prefix of the room name, any case' })),
    cursor: t.Optional(t.String({ maxLength: 512, description: '`nextCursor` of the previous page' })),
    limit: PageLimit('Default 50; values above 100 are clamped'),
  },
  { additionalProperties: true },
)
export type ListRoomsQuery = typeof ListRoomsQuery.static

export const RoomIdParams = t.Object({ id: Uuid })

export const UserIdBody = t.Object({ userId: Uuid }, { additionalProperties: false, examples: [{ userId: '3f0c7a52-9d1e-4b8a-a6f2-1c5e9b7d2a40' }] })

export const ReadMarkerBody = t.Object(
  { seq: t.Integer({ minimum: 0, maximum: SEQ_MAX, description: 'Newest `seq` the caller has seen; clamped to the room’s `lastSeq`' }) },
  { additionalProperties: false, examples: [{ seq: 42 }] },
)

export const Presence = t.Array(t.Object({ userId: Uuid, online: t.Literal(true) }), { title: 'Presence' })
export type Presence = typeof Presence.static

/**
 * The topic's length limit is a setting (ROOM_TOPIC_MAX_CHARS), checked by the service;
 * the schema's bound only keeps absurd input out before that.
 */
export const UpdateRoomBody = t.Object(
  {
    name: t.Optional(RoomName),
    topic: t.Optional(t.String({ maxLength: 10_000, pattern: PLAIN_TEXT_PATTERN, description: 'Empty clears it; at most ROOM_TOPIC_MAX_CHARS (500) characters' })),
  },
  { additionalProperties: false, minProperties: 1, examples: [{ topic: 'Release planning, Tuesdays' }] },
)
export type UpdateRoomBody = typeof UpdateRoomBody.static
