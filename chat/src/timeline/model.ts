import { t } from 'elysia'
import { TimelineItem, type RoomEvent, type StreamItem } from '@chat/common/chat-protocol'
import { PageLimit } from '@chat/common/pagination'

/** A `chat.events` row as postgres.js returns it (bigint as a string, jsonb parsed). */
export type EventRow = {
  room_id: string
  seq: string | number
  kind: RoomEvent['kind']
  actor_id: string
  target: string | null
  data: unknown
  created_at: Date
}

/** Distributes Omit over a union, so each kind keeps its own target and data. */
type OmitEach<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/** An event before it has a room and a seq: what a service asks `appendEvents` to store. */
export type NewEvent = OmitEach<RoomEvent, 'room' | 'seq' | 'createdAt'>

/** The row's columns were written from a `NewEvent` of the same kind, so its data has that kind's shape. */
export function toRoomEvent(row: EventRow): RoomEvent {
  const event = {
    room: row.room_id,
    seq: Number(row.seq),
    kind: row.kind,
    actorId: row.actor_id,
    createdAt: row.created_at.toISOString(),
    ...(row.target === null ? {} : { target: row.target }),
    data: row.data,
  }
  return event as RoomEvent
}

/** The REST form of a stream item: messages say `kind: "message"`. */
export function toTimelineItem(item: StreamItem): TimelineItem {
  return 'kind' in item ? item : { ...item, kind: 'message' }
}

export const EventsQuery = t.Object(
  {
    after: t.Optional(t.String({ pattern: '^(?:0|[1-9][0-9]{0,15})$', description: 'Items with a larger `seq` (default 0: from the start)' })),
    limit: PageLimit('Default EVENTS_PAGE_DEFAULT (100); values above EVENTS_PAGE_MAX (500) are clamped'),
  },
  // Unknown parameters are allowed (clients add cache busters such as `_=…`); Elysia makes an object strict unless told.
  { additionalProperties: true },
)
export type EventsQuery = typeof EventsQuery.static

export const TimelinePage = t.Object(
  {
    items: t.Array(TimelineItem, { description: 'Ascending `seq`, with no gap' }),
    nextCursor: t.Nullable(t.Integer(), { description: 'The `after` of the next page; null when caught up (continue live with `join{since}`)' }),
  },
  { title: 'TimelinePage' },
)
export type TimelinePage = typeof TimelinePage.static
