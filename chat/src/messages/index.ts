import { Elysia } from 'elysia'
import { errorResponses, failureAnswers } from '@chat/common/errors'
import { authGuard } from '@chat/common/tokens'
import type { ChatDeps } from '../deps'
import { ROOM_ACCESS_FAILURES } from '../rooms/failures'
import { RoomIdParams } from '../rooms/model'
import { HistoryQuery, MessagePage, readHistory } from './history'

const fail = failureAnswers({
  ...ROOM_ACCESS_FAILURES,
  BOTH_CURSORS: { code: 'VALIDATION_FAILED', message: 'Page either backwards (before) or forwards (after), not both', field: 'after' },
})

export function messagesController(deps: ChatDeps) {
  return new Elysia({ name: 'messages-controller', prefix: '/chat' }).use(authGuard(deps.verifier)).get(
    '/rooms/:id/messages',
    async ({ auth, params, query }) => {
      const result = await readHistory(deps, params.id, auth.userId, query)
      return result.ok ? result.page : fail(result.reason)
    },
    {
      auth: true,
      params: RoomIdParams,
      query: HistoryQuery,
      response: { 200: MessagePage, ...errorResponses },
      detail: {
        summary: 'A page of the room’s history',
        tags: ['Messages'],
        description:
          'Members only (403 for a public room, 404 for a private one). Items are in ascending `seq`. No cursor: the newest `limit` messages. `before=S`: the `limit` messages just older than S; `nextCursor` is the `before` of the next older page, null once the first message is included. `after=S`: the `limit` messages just newer than S; `nextCursor` is the `after` of the next newer page, null when caught up (continue live over the WebSocket with `join{since}`). `limit` defaults to 50, values above 100 are clamped.',
      },
    },
  )
}
