import { Elysia, t } from 'elysia'
import { AppError, errorResponses } from '@chat/common/errors'
import { requestContext } from '@chat/common/http'
import { authGuard } from '@chat/common/tokens'
import type { UserDeps } from '../deps'
import { DeleteMeBody, PublicProfile, RegisterBody, SearchQuery, UpdateMeBody, User, UserIdParams, UserPage } from './model'
import { deleteUser, getPublicProfile, getUser, registerUser, searchUsers, updateUser } from './service'

const MESSAGE = {
  USERNAME_TAKEN: 'That username is taken',
  EMAIL_TAKEN: 'That email is already registered',
  INVALID_PASSWORD: 'The password is wrong',
  UNAVAILABLE: 'The auth service is unavailable; nothing was changed, try again shortly',
  NOT_FOUND: 'No such user',
} as const

function fail(reason: keyof typeof MESSAGE): never {
  throw new AppError(reason === 'UNAVAILABLE' ? 'DEPENDENCY_DOWN' : reason, MESSAGE[reason])
}

export function usersController(deps: UserDeps) {
  return new Elysia({ name: 'users-controller', prefix: '/users' })
    .use(requestContext)
    .use(authGuard(deps.verifier))
    .post(
      '/',
      async ({ body, set, requestId }) => {
        const result = await registerUser(deps, body, requestId)
        if (result.ok) {
          set.status = 201
          return result.user
        }
        if (result.reason === 'WEAK_PASSWORD') {
          throw new AppError('WEAK_PASSWORD', `The password ${result.why}`, { details: [{ field: 'password', message: result.why }] })
        }
        return fail(result.reason)
      },
      {
        body: RegisterBody,
        response: { 201: User, ...errorResponses },
        detail: { summary: 'Register', tags: ['Users'], description: 'Creates the account. No token is issued: log in next with POST /auth/login.' },
      },
    )
    .get(
      '/me',
      async ({ auth }) => (await getUser(deps, auth.userId)) ?? fail('NOT_FOUND'),
      { auth: true, response: { 200: User, ...errorResponses }, detail: { summary: 'The caller’s own profile', tags: ['Users'] } },
    )
    .patch(
      '/me',
      async ({ auth, body, requestId }) => {
        const result = await updateUser(deps, auth.userId, body, requestId)
        return result.ok ? result.user : fail(result.reason)
      },
      {
        auth: true,
        body: UpdateMeBody,
        response: { 200: User, ...errorResponses },
        detail: { summary: 'Update the caller’s profile', tags: ['Users'], description: '`bio` and `avatarUrl` can be cleared with null.' },
      },
    )
    .delete(
      '/me',
      async ({ auth, body, set, requestId }) => {
        const result = await deleteUser(deps, auth.userId, body.password, requestId)
        if (!result.ok) fail(result.reason)
        set.status = 204
      },
      {
        auth: true,
        body: DeleteMeBody,
        response: { 204: t.Void(), ...errorResponses },
        detail: {
          summary: 'Delete the caller’s account',
          tags: ['Users'],
          description: 'Every session is revoked at once on every service, open sockets are closed, and the account can no longer log in.',
        },
      },
    )
    .get(
      '/',
      async ({ query }) => {
        const page = await searchUsers(deps, query)
        if ('error' in page) throw new AppError('VALIDATION_FAILED', 'Unknown cursor', { details: [{ field: 'cursor', message: 'is not a cursor from this API' }] })
        return page
      },
      {
        auth: true,
        query: SearchQuery,
        response: { 200: UserPage, ...errorResponses },
        detail: { summary: 'Search users by username or display-name prefix', tags: ['Users'] },
      },
    )
    .get('/:id', async ({ params }) => (await getPublicProfile(deps, params.id)) ?? fail('NOT_FOUND'), {
      auth: true,
      params: UserIdParams,
      response: { 200: PublicProfile, ...errorResponses },
      detail: { summary: 'Public profile of a user', tags: ['Users'] },
    })
}
