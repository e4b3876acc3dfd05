import { Elysia, t } from 'elysia'
import { AppError, errorResponses, failureAnswers } from '@chat/common/errors'
import { requestContext } from '@chat/common/http'
import { authGuard } from '@chat/common/tokens'
import type { UserDeps } from '../deps'
import { DeleteMeBody, PublicProfile, RegisterBody, SearchQuery, UpdateMeBody, User, UserIdParams, UserPage } from './model'
import { createRegistrationLimiter, deleteUser, getPublicProfile, getUser, registerUser, searchUsers, updateUser } from './service'

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

/** Answers with Retry-After: limits on registrations per IP and on wrong passwords per user (counted by auth). */
const limited = failureAnswers({
  TOO_MANY_REGISTRATIONS: { code: 'RATE_LIMITED', message: 'Too many registrations from this address; try again later' },
  TOO_MANY_ATTEMPTS: { code: 'TOO_MANY_ATTEMPTS', message: 'Too many wrong passwords for this account; try again later' },
})

export function usersController(deps: UserDeps) {
  const registrations = createRegistrationLimiter(deps)
  return new Elysia({ name: 'users-controller', prefix: '/users' })
    .use(requestContext)
    .use(authGuard(deps.verifier))
    .post(
      '/',
      async ({ body, set, requestId, clientIp }) => {
        const result = await registerUser(deps, registrations, body, clientIp, requestId)
        if (result.ok) {
          set.status = 201
          return result.user
        }
        if (result.reason === 'TOO_MANY_REGISTRATIONS') return limited(result.reason, { retryAfterSeconds: result.retryAfterSeconds })
        if (result.reason === 'WEAK_PASSWORD') {
          throw new AppError('WEAK_PASSWORD', `The password ${result.why}`, { details: [{ field: 'password', message: result.why }] })
        }
        return fail(result.reason)
      },
      {
        body: RegisterBody,
        response: { 201: User, ...errorResponses },
        detail: {
          summary: 'Register',
          tags: ['Users'],
          description:
            'Creates the account. No token is issued: log in next with POST /auth/login. More than 20 attempts from one IP within an hour answer 429 RATE_LIMITED with Retry-After.',
        },
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
        if (!result.ok) return result.reason === 'TOO_MANY_ATTEMPTS' ? limited(result.reason, { retryAfterSeconds: result.retryAfterSeconds }) : fail(result.reason)
        set.status = 204
      },
      {
        auth: true,
        body: DeleteMeBody,
        response: { 204: t.Void(), ...errorResponses },
        detail: {
          summary: 'Delete the caller’s account',
          tags: ['Users'],
          description:
            'Every session is revoked at once on every service, open sockets are closed, and the account can no longer log in. After 10 wrong passwords for the account within 15 minutes (here or in PUT /auth/password) this answers 429 TOO_MANY_ATTEMPTS with Retry-After, even for the right one.',
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
