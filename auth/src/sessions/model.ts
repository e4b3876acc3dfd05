import { t } from 'elysia'
import { Uuid } from '@chat/common/schemas'

export const TokenPair = t.Object(
  {
    accessToken: t.String({ description: 'JWT (EdDSA) for `Authorization: Bearer`' }),
    refreshToken: t.String({ description: 'Opaque; single use, rotated by POST /auth/refresh' }),
    tokenType: t.Literal('Bearer'),
    expiresIn: t.Integer({ description: 'Seconds until the access token expires', examples: [900] }),
    sessionId: t.String({ format: 'uuid' }),
  },
  { title: 'TokenPair' },
)
export type TokenPair = typeof TokenPair.static

export const RefreshBody = t.Object(
  { refreshToken: t.String({ minLength: 1, maxLength: 512 }) },
  { additionalProperties: false, examples: [{ refreshToken: 'q3Jd8y0m2Vb1s9KpXgW7tQe4LrZc6HnA5uFvYiO0aBw' }] },
)

/** The body may be left out: the shared body parser reads an empty one as `{}`. */
export const LogoutBody = t.Object(
  {
    scope: t.Optional(
      t.Union([t.Literal('local'), t.Literal('global'), t.Literal('others')], {
        description: '`local`: this session (default); `global`: every session; `others`: all but this one',
      }),
    ),
  },
  { additionalProperties: false, examples: [{ scope: 'global' }] },
)
export type LogoutScope = 'local' | 'global' | 'others'

export const SessionInfo = t.Object(
  {
    id: t.String({ format: 'uuid' }),
    createdAt: t.String({ format: 'date-time' }),
    lastUsedAt: t.String({ format: 'date-time' }),
    userAgent: t.Nullable(t.String()),
    ip: t.Nullable(t.String()),
    current: t.Boolean(),
  },
  { title: 'Session' },
)
export type SessionInfo = typeof SessionInfo.static

export const SessionIdParams = t.Object({ id: Uuid })

/** Where a session was opened from, as shown in the session list. */
export type ClientInfo = { userAgent: string | null; ip: string | null }
