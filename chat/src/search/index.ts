import { Elysia } from 'elysia'
import { BAD_CURSOR, errorResponses, failureAnswers } from '@chat/common/errors'
import { createRateLimiter } from '@chat/common/limits'
import { authGuard } from '@chat/common/tokens'
import type { ChatDeps } from '../deps'
import { ROOM_ACCESS_FAILURES } from '../rooms/failures'
import { SearchPage, SearchQuery } from './model'
import { searchMessages } from './service'

const fail = failureAnswers({
  ...ROOM_ACCESS_FAILURES,
  BAD_CURSOR,
  NO_WORDS: { code: 'VALIDATION_FAILED', message: 'The search has no words to look for', field: 'q' },
  RATE_LIMITED: { code: 'RATE_LIMITED', message: 'Too many searches; try again in a minute' },
})

export function searchController(deps: ChatDeps) {
  // Every search may cost a scan: counted per user, whatever it finds.
  const searches = createRateLimiter(deps.redis, {
    prefix: `${deps.config.REDIS_PREFIX}chat:searches:user:`,
    max: deps.config.SEARCH_MAX_PER_MINUTE_PER_USER,
    windowSeconds: 60,
  })
  return new Elysia({ name: 'search-controller', prefix: '/chat' }).use(authGuard(deps.verifier)).get(
    '/search',
    async ({ auth, query }) => {
      const allowed = await searches.take(auth.userId)
      if (!allowed.allowed) return fail('RATE_LIMITED', { retryAfterSeconds: allowed.retryAfterSeconds })
      const result = await searchMessages(deps, auth.userId, query)
      return result.ok ? result.page : fail(result.reason)
    },
    {
      auth: true,
      query: SearchQuery(deps.config),
      response: { 200: SearchPage, ...errorResponses },
      detail: {
        summary: 'Search messages',
        tags: ['Messages'],
        description:
          'Full-text search over the messages of every room the caller is a member of, or of one of them (`room`: 403 for a public room the caller is not in, 404 for an unknown or private one). Words match as written in any language and, stemmed, in the deployment’s language (SEARCH_LANGUAGE: `runs` finds `running`); `q` takes web-search syntax (`"a phrase"`, `or`, `-word`). Items are newest first; pass `nextCursor` as `cursor` for older ones. Deleted messages never match; edited ones match their current text. A `q` with no words (only operators or punctuation) is 422. A search running longer than 2 s is cancelled (503); more than 30 searches by one user within a minute answer 429 RATE_LIMITED with Retry-After.',
      },
    },
  )
}
