import { Elysia, t } from 'elysia'
import { BAD_CURSOR, errorResponses, failureAnswers } from '@chat/common/errors'
import { requestContext } from '@chat/common/http'
import { authGuard } from '@chat/common/tokens'
import type { ChatDeps } from '../deps'
import { NOT_ALLOWED, ROOM_ACCESS_FAILURES } from './failures'
import { CreateRoomBody, ListRoomsQuery, Presence, ReadMarkerBody, Room, RoomIdParams, RoomPage, RoomWithMembers, UpdateRoomBody, UserIdBody } from './model'
import { addMember, createRoom, deleteRoom, getRoom, joinRoom, leaveRoom, listPresence, listRooms, markRead, openDirectRoom, updateRoom } from './service'

const failRoom = failureAnswers({
  ...ROOM_ACCESS_FAILURES,
  NOT_ALLOWED,
  BANNED: { code: 'BANNED', message: 'You are banned from this room' },
  TARGET_BANNED: { code: 'BANNED', message: 'That user is banned from this room; unban them first' },
  LAST_OWNER: { code: 'LAST_OWNER', message: 'The owner cannot leave while others remain: hand the room over (PATCH its member’s role to "owner") or delete it' },
  TOPIC_TOO_LONG: { code: 'VALIDATION_FAILED', message: 'The topic is too long', field: 'topic' },
  USER_NOT_FOUND: { code: 'NOT_FOUND', message: 'No such user' },
  UNAVAILABLE: { code: 'DEPENDENCY_DOWN', message: 'The user service is unavailable; nothing was changed, try again shortly' },
  SELF_DM: { code: 'VALIDATION_FAILED', message: 'A direct message needs another user', field: 'userId' },
  BAD_CURSOR,
})

const NO_CONTENT = { 204: t.Void(), ...errorResponses }
const TAGS = ['Rooms']

export function roomsController(deps: ChatDeps) {
  return new Elysia({ name: 'rooms-controller', prefix: '/chat' })
    .use(requestContext)
    .use(authGuard(deps.verifier))
    .post(
      '/rooms',
      async ({ auth, body, set }) => {
        set.status = 201
        return createRoom(deps, auth.userId, body)
      },
      {
        auth: true,
        body: CreateRoomBody,
        response: { 201: Room, ...errorResponses },
        detail: { summary: 'Create a room', tags: TAGS, description: 'The caller becomes its owner and first member.' },
      },
    )
    .get(
      '/rooms',
      async ({ auth, query }) => {
        const page = await listRooms(deps, auth.userId, query)
        return 'error' in page ? failRoom(page.error) : page
      },
      {
        auth: true,
        query: ListRoomsQuery,
        response: { 200: RoomPage, ...errorResponses },
        detail: {
          summary: 'List public rooms, or the caller’s rooms',
          tags: TAGS,
          description:
            'Without `mine`: public rooms. With `mine=true`: every room the caller is a member of (public, private and direct messages), each with `unread`, the number of messages from others after the caller’s read marker and since they joined (counted among at most UNREAD_COUNT_MAX, default 1000, messages past the marker: exact while fewer are, a lower bound after, so a client shows a large count as, say, “99+”). Both are ordered by name (case-insensitive), then id; `q` filters by name prefix; pass `nextCursor` as `cursor` for the next page (null on the last).',
        },
      },
    )
    .get('/rooms/:id', async ({ auth, params }) => (await getRoom(deps, params.id, auth.userId)) ?? failRoom('NOT_FOUND'), {
      auth: true,
      params: RoomIdParams,
      response: { 200: RoomWithMembers, ...errorResponses },
      detail: { summary: 'A room with its member count', tags: TAGS, description: 'A private room the caller is not in answers 404, as if it did not exist.' },
    })
    .patch(
      '/rooms/:id',
      async ({ auth, params, body }) => {
        const result = await updateRoom(deps, params.id, auth.userId, body)
        return result.ok ? result.room : failRoom(result.reason)
      },
      {
        auth: true,
        params: RoomIdParams,
        body: UpdateRoomBody,
        response: { 200: RoomWithMembers, ...errorResponses },
        detail: {
          summary: 'Rename the room or set its topic (owner or admin)',
          tags: TAGS,
          description:
            'Either field or both; an empty `topic` clears it. What actually changed goes to the room’s stream as a `room` event `{name?, topic?}` (nothing when nothing changed). 403 `NOT_ALLOWED` for members without the role and in direct-message rooms; 422 for a topic over ROOM_TOPIC_MAX_CHARS (500).',
        },
      },
    )
    .delete(
      '/rooms/:id',
      async ({ auth, params, set }) => {
        const result = await deleteRoom(deps, params.id, auth.userId)
        if (!result.ok) failRoom(result.reason)
        set.status = 204
      },
      {
        auth: true,
        params: RoomIdParams,
        response: NO_CONTENT,
        detail: {
          summary: 'Delete the room (owner only)',
          tags: TAGS,
          description:
            'The room, its messages, events, bans and invites are gone at once; every member’s sockets get `left{room, reason:"deleted"}`, and the room answers 404 from then on. 403 `NOT_ALLOWED` for everyone but the owner (direct-message rooms have none).',
        },
      },
    )
    .post(
      '/rooms/:id/join',
      async ({ auth, params, set }) => {
        const result = await joinRoom(deps, params.id, auth.userId)
        if (!result.ok) failRoom(result.reason)
        set.status = 204
      },
      {
        auth: true,
        params: RoomIdParams,
        response: NO_CONTENT,
        detail: {
          summary: 'Join a public room',
          tags: TAGS,
          description:
            'Idempotent. Private rooms are joined only by being added or with an invite (404 otherwise). 403 `BANNED` for a user banned from the room. A `member` event `joined` goes to the room’s stream, and `room_added` to every socket of the caller.',
        },
      },
    )
    .post(
      '/rooms/:id/leave',
      async ({ auth, params, set }) => {
        const result = await leaveRoom(deps, params.id, auth.userId)
        if (!result.ok) failRoom(result.reason)
        set.status = 204
      },
      {
        auth: true,
        params: RoomIdParams,
        response: NO_CONTENT,
        detail: {
          summary: 'Leave a room',
          tags: TAGS,
          description:
            'Idempotent for public rooms. Every socket of the caller gets `left{room, reason:"left"}` and stops receiving the room at once; a `member` event `left` goes to the room’s stream. The owner cannot leave while others remain (409 `LAST_OWNER`): hand the room over first (`PATCH /chat/rooms/:id/members/:userId {role:"owner"}`) or delete it; an owner alone may leave, and the room is then ownerless.',
        },
      },
    )
    .post(
      '/rooms/:id/members',
      async ({ auth, params, body, set, requestId }) => {
        const result = await addMember(deps, params.id, auth.userId, body.userId, requestId)
        if (!result.ok) failRoom(result.reason)
        set.status = 204
      },
      {
        auth: true,
        params: RoomIdParams,
        body: UserIdBody,
        response: NO_CONTENT,
        detail: {
          summary: 'Add a member (owner or admin)',
          tags: TAGS,
          description:
            'Idempotent. 403 `NOT_ALLOWED` for plain members and in direct-message rooms; 403 `BANNED` for a user banned from the room; 404 for an unknown user or a private room the caller is not in. A `member` event `added` goes to the room’s stream, and `room_added` to every socket of the new member.',
        },
      },
    )
    .post(
      '/dms',
      async ({ auth, body, requestId }) => {
        const result = await openDirectRoom(deps, auth.userId, body.userId, requestId)
        return result.ok ? result.room : failRoom(result.reason)
      },
      {
        auth: true,
        body: UserIdBody,
        response: { 200: Room, ...errorResponses },
        detail: {
          summary: 'The direct-message room with another user',
          tags: TAGS,
          description:
            'The one private two-member room of the pair, created on first use: every call, from either side, answers the same room, and makes both users members again if one had left. It has no owner, so nobody can add a third member.',
        },
      },
    )
    .post(
      '/rooms/:id/read',
      async ({ auth, params, body, set }) => {
        const result = await markRead(deps, params.id, auth.userId, body.seq)
        if (!result.ok) failRoom(result.reason)
        set.status = 204
      },
      {
        auth: true,
        params: RoomIdParams,
        body: ReadMarkerBody,
        response: NO_CONTENT,
        detail: {
          summary: 'Move the caller’s read marker',
          tags: TAGS,
          description:
            'Members only. The marker never moves backwards and is clamped to the room’s `lastSeq`; it drives `unread` in `GET /chat/rooms?mine=true`. When it moves, the room’s joined sockets get a `receipt{room, userId, seq}` frame (coalesced per room, see RECEIPT_FLUSH_MS).',
        },
      },
    )
    .get(
      '/rooms/:id/presence',
      async ({ auth, params }) => {
        const result = await listPresence(deps, params.id, auth.userId)
        return result.ok ? result.presence : failRoom(result.reason)
      },
      {
        auth: true,
        params: RoomIdParams,
        response: { 200: Presence, ...errorResponses },
        detail: {
          summary: 'Members online in the room',
          tags: TAGS,
          description: 'Members with at least one socket that has joined this room, on any chat instance. Members only (403 for a public room, 404 for a private one).',
        },
      },
    )
}
