import { Elysia } from 'elysia'
import { errorResponses, failureAnswers } from '@chat/common/errors'
import { authGuard } from '@chat/common/tokens'
import type { ChatDeps } from '../deps'
import { ROOM_ACCESS_FAILURES } from '../rooms/failures'
import { RoomIdParams } from '../rooms/model'
import { Receipts } from './model'
import { listReceipts } from './service'

const fail = failureAnswers(ROOM_ACCESS_FAILURES)

export function receiptsController(deps: ChatDeps) {
  return new Elysia({ name: 'receipts-controller', prefix: '/chat' }).use(authGuard(deps.verifier)).get(
    '/rooms/:id/receipts',
    async ({ auth, params }) => {
      const result = await listReceipts(deps, params.id, auth.userId)
      return result.ok ? result.receipts : fail(result.reason)
    },
    {
      auth: true,
      params: RoomIdParams,
      response: { 200: Receipts, ...errorResponses },
      detail: {
        summary: 'Each member’s read marker',
        tags: ['Rooms'],
        description:
          'Members only (403 for a public room, 404 for a private one). `[{userId, seq}]`, most advanced first, at most RECEIPTS_LIST_MAX (1000); members who have read nothing are left out. Markers move with `POST /chat/rooms/:id/read`; each move reaches the room’s joined sockets as a `receipt{room, userId, seq}` frame, coalesced per room.',
      },
    },
  )
}
