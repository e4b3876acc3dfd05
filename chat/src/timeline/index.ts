import { Elysia } from 'elysia'
import { errorResponses, failureAnswers } from '@chat/common/errors'
import { authGuard } from '@chat/common/tokens'
import type { ChatDeps } from '../deps'
import { ROOM_ACCESS_FAILURES } from '../rooms/failures'
import { RoomIdParams } from '../rooms/model'
import { EventsQuery, TimelinePage } from './model'
import { readEventsPage } from './service'

const fail = failureAnswers(ROOM_ACCESS_FAILURES)

export function timelineController(deps: ChatDeps) {
  return new Elysia({ name: 'timeline-controller', prefix: '/chat' }).use(authGuard(deps.verifier)).get(
    '/rooms/:id/events',
    async ({ auth, params, query }) => {
      const result = await readEventsPage(deps, params.id, auth.userId, query)
      return result.ok ? result.page : fail(result.reason)
    },
    {
      auth: true,
      params: RoomIdParams,
      query: EventsQuery,
      response: { 200: TimelinePage, ...errorResponses },
      detail: {
        summary: 'The room’s stream: messages and events after a seq',
        tags: ['Messages'],
        description:
          'Members only (403 for a public room, 404 for a private one). Every message (with `kind: "message"`, in its current state) and every event (`edit`, `delete`, `reaction`, `member`, `room`) with `seq` greater than `after`, ascending and with no gap: the same objects as the WebSocket `message` and `event` frames. `nextCursor` is the `after` of the next page, null when caught up; continue live with `join{since}`. `limit` defaults to 100, values above 500 are clamped.',
      },
    },
  )
}
