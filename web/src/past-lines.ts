import type { ApiClient } from '@chat/client/api'
import type { PastItem } from '@chat/client/room-state'

/** Items per `listEvents` request: a history page's messages and the changes among them, usually in one. */
const EVENTS_PAGE_SIZE = 200
/**
 * Requests per stretch of history. A stretch crowded with edits and reactions beyond this
 * shows its messages without some of its membership lines, rather than loading on and on.
 */
const EVENT_PAGES_MAX = 5

/**
 * The room's stream with `after < seq <= upTo` (`GET /chat/rooms/:id/events`), read for the
 * membership and room changes that history pages (messages only) leave out, so they can be
 * drawn between the messages of the page.
 */
export async function readPastStream(api: ApiClient, roomId: string, after: number, upTo: number): Promise<PastItem[]> {
  const items: PastItem[] = []
  let cursor: number | null = after
  for (let page = 0; page < EVENT_PAGES_MAX && cursor !== null && cursor < upTo; page++) {
    const answer = await api.listEvents(roomId, { after: cursor, limit: EVENTS_PAGE_SIZE })
    items.push(...(answer.items as PastItem[]).filter((item) => item.seq <= upTo))
    cursor = answer.nextCursor
  }
  return items
}
