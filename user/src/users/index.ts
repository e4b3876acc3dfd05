import { Elysia, t } from 'elysia'
import { BAD_CURSOR, errorResponses, failureAnswers } from '@chat/common/errors'
import { requestContext } from '@chat/common/http'
import { authGuard } from '@chat/common/tokens'
import type { UserDeps } from '../deps'
import { DeleteMeBody, PublicProfile, RegisterBody, SearchQuery, UpdateMeBody, User, UserIdParams, UserPage } from './model'
import { createEmailChangeLimiter, createRegistrationLimiter, createSearchLimiter, deleteUser, getPublicProfile, getUser, registerUser, searchUsers, updateUser } from './service'

const fail = failureAnswers({
  USERNAME_TAKEN: { code: 'USERNAME_TAKEN', message: 'That username is taken' },
  EMAIL_TAKEN: { code: 'EMAIL_TAKEN', message: 'That email is already registered' },
  WEAK_PASSWORD: { code: 'WEAK_PASSWORD', message: 'The password is too weak', field: 'password' },
  INVALID_PASSWORD: { code: 'INVALID_PASSWORD', message: 'The password is wrong' },
  PASSWORD_REQUIRED: { code: 'VALIDATION_FAILED', message: 'Changing the email needs the current password', field: 'currentPassword' },
  UNAVAILABLE: { code: 'DEPENDENCY_DOWN', message: 'The auth service is unavailable; nothing was changed, try again shortly' },
  NOT_FOUND: { code: 'NOT_FOUND', message: 'No such user' },
  BAD_CURSOR,
  // Answered with Retry-After: registrations per IP, and wrong passwords per user (counted by auth).
  TOO_MANY_REGISTRATIONS: { code: 'RATE_LIMITED', message: 'Too many registrations from this address; try again later' },
  TOO_MANY_ATTEMPTS: { code: 'TOO_MANY_ATTEMPTS', message: 'Too many password attempts for this account; try again later' },
  TOO_MANY_EMAIL_CHANGES: { code: 'RATE_LIMITED', message: 'Too many email changes for this account; try again later' },
  TOO_MANY_SEARCHES: { code: 'RATE_LIMITED', message: 'Too many searches; try again in a minute' },
})

export function usersController(deps: UserDeps) {
  const registrations = createRegistrationLimiter(deps)
  const emailChanges = createEmailChangeLimiter(deps)
  const searches = createSearchLimiter(deps)
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
        if (result.reason === 'TOO_MANY_REGISTRATIONS') return fail(result.reason, { retryAfterSeconds: result.retryAfterSeconds })
        return result.reason === 'WEAK_PASSWORD' ? fail(result.reason, { detail: result.why }) : fail(result.reason)
      },
      {
        body: RegisterBody,
        response: { 201: User, ...errorResponses },
        detail: {
          summary: 'Register',
          tags: ['Users'],
          description:
            'Creates the account and mails a verification link to its address (`emailVerified` is false until it is opened, see POST /auth/email/verify). No token is issued: log in next with POST /auth/login. More than 20 attempts from one IP within an hour answer 429 RATE_LIMITED with Retry-After.',
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
        const result = await updateUser(deps, emailChanges, auth.userId, body, requestId)
        if (result.ok) return result.user
        return 'retryAfterSeconds' in result ? fail(result.reason, { retryAfterSeconds: result.retryAfterSeconds }) : fail(result.reason)
      },
      {
        auth: true,
        body: UpdateMeBody,
        response: { 200: User, ...errorResponses },
        detail: {
          summary: 'Update the caller’s profile',
          tags: ['Users'],
          description:
            '`bio` and `avatarUrl` can be cleared with null. A new `email` needs `currentPassword` (422 without it, 403 INVALID_PASSWORD when wrong; wrong ones count against the same limit as PUT /auth/password, then 429 TOO_MANY_ATTEMPTS, as does an 11th password check of the user within a minute): `emailVerified` becomes false, a verification mail goes to the new address and the former one is told of the change. More than 5 attempts to change the email within an hour, whatever their outcome, answer 429 RATE_LIMITED with Retry-After.',
        },
      },
    )
    .delete(
      '/me',
      async ({ auth, body, set, requestId }) => {
        const result = await deleteUser(deps, auth.userId, body.password, requestId)
        if (!result.ok) return result.reason === 'TOO_MANY_ATTEMPTS' ? fail(result.reason, { retryAfterSeconds: result.retryAfterSeconds }) : fail(result.reason)
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
            'Every session is revoked at once on every service, open sockets are closed, and the account can no longer log in. After 10 wrong passwords for the account within 15 minutes (here or in PUT /auth/password) this answers 429 TOO_MANY_ATTEMPTS with Retry-After, even for the right one; so does an 11th password check of the user within a minute.',
        },
      },
    )
    .get(
      '/',
      async ({ auth, query }) => {
        const allowed = await searches.take(auth.userId)
        if (!allowed.allowed) return fail('TOO_MANY_SEARCHES', { retryAfterSeconds: allowed.retryAfterSeconds })
        const page = await searchUsers(deps, query)
        return 'error' in page ? fail(page.error) : page
      },
      {
        auth: true,
        query: SearchQuery,
        response: { 200: UserPage, ...errorResponses },
        detail: {
          summary: 'Search users by username or display-name prefix',
          tags: ['Users'],
          description: 'More than 60 searches by one user within a minute answer 429 RATE_LIMITED with Retry-After.',
        },
      },
    )
    .get('/:id', async ({ params }) => (await getPublicProfile(deps, params.id)) ?? fail('NOT_FOUND'), {
      auth: true,
      params: UserIdParams,
      response: { 200: PublicProfile, ...errorResponses },
      detail: { summary: 'Public profile of a user', tags: ['Users'] },
    })
}
