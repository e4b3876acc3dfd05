import { Elysia, t } from 'elysia'
import { errorResponses, failureAnswers } from '@chat/common/errors'
import { authGuard } from '@chat/common/tokens'
import type { AuthDeps } from '../deps'
import { LogoutBody, RefreshBody, SessionIdParams, SessionInfo, TokenPair } from './model'
import { listSessions, logout, revokeOwnSession, rotateRefreshToken } from './service'

const fail = failureAnswers({
  INVALID_REFRESH_TOKEN: { code: 'INVALID_REFRESH_TOKEN', message: 'The refresh token is invalid, expired or its session has ended' },
  REFRESH_TOKEN_REUSED: { code: 'REFRESH_TOKEN_REUSED', message: 'This refresh token was already used; the session has been revoked' },
  NOT_FOUND: { code: 'NOT_FOUND', message: 'No such session' },
})

export function sessionsController(deps: AuthDeps) {
  return new Elysia({ name: 'sessions-controller', prefix: '/auth' })
    .use(authGuard(deps.verifier))
    .post(
      '/refresh',
      async ({ body }) => {
        const result = await rotateRefreshToken(deps, body.refreshToken)
        if (!result.ok) return fail(result.reason)
        return result.pair
      },
      {
        body: RefreshBody,
        response: { 200: TokenPair, ...errorResponses },
        detail: {
          summary: 'Rotate a refresh token',
          tags: ['Sessions'],
          description:
            'Spends the refresh token and returns a new pair. For a few seconds after a rotation the spent token returns the identical pair again (concurrent tabs, retries); after that, presenting it revokes the whole session (401 REFRESH_TOKEN_REUSED).',
        },
      },
    )
    .post(
      '/logout',
      async ({ auth, body, set }) => {
        await logout(deps, auth.userId, auth.sessionId, body.scope ?? 'local')
        set.status = 204
      },
      {
        auth: true,
        body: LogoutBody,
        response: { 204: t.Void(), ...errorResponses },
        detail: { summary: 'Log out (this session, every session, or all others)', tags: ['Sessions'] },
      },
    )
    .get('/sessions', ({ auth }) => listSessions(deps, auth.userId, auth.sessionId), {
      auth: true,
      response: { 200: t.Array(SessionInfo), ...errorResponses },
      detail: { summary: "List the caller's active sessions", tags: ['Sessions'] },
    })
    .delete(
      '/sessions/:id',
      async ({ auth, params, set }) => {
        const result = await revokeOwnSession(deps, auth.userId, params.id)
        if (!result.ok) fail('NOT_FOUND')
        set.status = 204
      },
      {
        auth: true,
        params: SessionIdParams,
        response: { 204: t.Void(), ...errorResponses },
        detail: { summary: 'Revoke one of the caller’s sessions', tags: ['Sessions'] },
      },
    )
}
