import { t } from 'elysia'
import { Message } from '@chat/common/chat-protocol'
import { PageLimit } from '@chat/common/pagination'
import { PLAIN_TEXT_PATTERN, Uuid } from '@chat/common/schemas'

type SearchLimits = { SEARCH_QUERY_MAX_CHARS: number; SEARCH_PAGE_DEFAULT: number; SEARCH_PAGE_MAX: number }

/** The search route's query string. Its limits are settings, so the schema is made once per app from the config. */
export function SearchQuery(limits: SearchLimits) {
  const maxChars = limits.SEARCH_QUERY_MAX_CHARS
  return t.Object(
    {
      q: t.String({
        minLength: 1,
        maxLength: maxChars,
        pattern: PLAIN_TEXT_PATTERN,
        // No `examples` here: on a query parameter OpenAPI wants an object of named examples.
        description: `Words to find, in web-search syntax: \`"a phrase"\`, \`or\`, \`-word\` to exclude; at most ${maxChars} characters`,
      }),
      room: t.Optional(Uuid),
      cursor: t.Optional(t.String({ maxLength: 256, description: 'The previous page’s `nextCursor`' })),
      limit: PageLimit(`Default ${limits.SEARCH_PAGE_DEFAULT}; values above ${limits.SEARCH_PAGE_MAX} are clamped`),
    },
    // As elsewhere, unknown parameters (cache busters) are allowed.
    { additionalProperties: true },
  )
}
export type SearchQuery = ReturnType<typeof SearchQuery>['static']

export const SearchPage = t.Object(
  {
    items: t.Array(Message, { description: 'Newest first' }),
    nextCursor: t.Nullable(t.String(), { description: 'Pass as `cursor` for the next older page; null on the last' }),
  },
  { title: 'SearchPage' },
)
export type SearchPage = typeof SearchPage.static
