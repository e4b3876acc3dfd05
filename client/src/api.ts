import { treaty } from '@elysiajs/eden'
// Types only: the services' code never reaches a bundle, their routes' TypeBox models type every call.
import type { createAuthApp } from '../../auth/src/app'
import type { createChatApp } from '../../chat/src/app'
import type { createUserApp } from '../../user/src/app'
import { ApiError, NETWORK_ERROR, NOT_LOGGED_IN, isSessionEnded, type ErrorDetail } from './errors'
import type { ApiClient } from './generated-types'
import type { Role } from './room-events'
import { toAccessToken, toStoredTokens, type AccessToken, type StoredTokens, type TokenStore } from './tokens'

type AuthApp = ReturnType<typeof createAuthApp>
type UserApp = ReturnType<typeof createUserApp>
type ChatApp = ReturnType<typeof createChatApp>

export type ApiClientOptions = {
  /** The public origin, e.g. `http://localhost:8080` (Caddy). */
  baseUrl: string
  tokens: TokenStore
  /** The session ended without the user asking (refresh token refused, session revoked): show the login. */
  onSessionEnded?: (code: string) => void
}

export type LogoutScope = 'local' | 'global' | 'others'

/** Eden's answer: `data` on success, `error` otherwise; `response` is missing when nothing answered. */
type TreatyAnswer = { data: unknown; error: { status: unknown; value: unknown } | null; response?: Response }
type Success<A extends TreatyAnswer> = Exclude<Extract<A, { error: null }>['data'], null>

/** The success value of an Eden call, or an ApiError in the contract's shape. */
async function unwrap<A extends TreatyAnswer>(call: Promise<A>): Promise<Success<A>> {
  const answer = await call
  if (answer.error === null) return answer.data as Success<A>
  throw toApiError(answer)
}

function toApiError(answer: TreatyAnswer): ApiError {
  const response = answer.response
  if (response === undefined) {
    // Eden reports whatever the fetcher threw as a 503 without a response: our own errors
    // (no tokens, a refused refresh) are passed on as they are, the rest is the network.
    const thrown = answer.error?.value
    if (thrown instanceof ApiError) return thrown
    return new ApiError(0, NETWORK_ERROR, `The server could not be reached: ${String(thrown)}`)
  }
  const value = answer.error?.value as { error?: unknown; message?: unknown; details?: ErrorDetail[] } | string | undefined
  const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN)
  const retryAfterSeconds = Number.isFinite(retryAfter) ? retryAfter : null
  if (typeof value === 'object' && value !== null && typeof value.error === 'string' && typeof value.message === 'string') {
    return new ApiError(response.status, value.error, value.message, value.details ?? [], retryAfterSeconds)
  }
  return new ApiError(response.status, `HTTP_${response.status}`, typeof value === 'string' && value !== '' ? value : response.statusText, [], retryAfterSeconds)
}

async function errorCodeOf(response: Response): Promise<string | null> {
  try {
    const body = (await response.clone().json()) as { error?: unknown }
    return typeof body.error === 'string' ? body.error : null
  } catch {
    return null
  }
}

/**
 * A value that goes into the path, as exactly one segment of it. Eden puts path values in
 * as they are, so an id or invite code holding `/`, `?` or `#` (a crafted `/invite/…` link)
 * would send the caller's token to another route. "." and ".." stay dot segments even
 * encoded (the URL parser removes them), so they are sent encoded twice: the route then
 * refuses them as malformed.
 */
const pathSegment = (value: string) => (value === '.' || value === '..' ? value.replaceAll('.', '%252E') : encodeURIComponent(value))

/** Numbers become the digit strings the routes' query schemas take (see common/src/pagination.ts). */
const digits = (value: number | undefined) => (value === undefined ? undefined : String(value))

/**
 * A typed client of the public REST API: every contract route of the three services,
 * typed from the services' own route definitions through Eden, answering the success
 * value or throwing an `ApiError` (`status`, `code`, `message`, `details`).
 *
 * Authenticated calls carry the session's access token. It is refreshed shortly before it
 * expires (one refresh at a time, shared by concurrent callers), and once more when a
 * call is answered 401 TOKEN_EXPIRED (a laptop woken from sleep), after which the call is
 * retried once.
 */
function createEdenApiClient(options: ApiClientOptions) {
  const { baseUrl, tokens } = options
  // ISO timestamps stay strings, as the contract (and the types) say; Eden would make Dates of them.
  const config = { parseDate: false }
  const open = { auth: treaty<AuthApp>(baseUrl, config).auth, users: treaty<UserApp>(baseUrl, config).users }
  const fetcher = ((input: string, init: RequestInit) => fetchWithToken(input, init)) as typeof fetch
  const authed = {
    auth: treaty<AuthApp>(baseUrl, { ...config, fetcher }).auth,
    users: treaty<UserApp>(baseUrl, { ...config, fetcher }).users,
    chat: treaty<ChatApp>(baseUrl, { ...config, fetcher }).chat,
  }
  /** One room's routes, its id put into the path as one segment. */
  const room = (roomId: string) => authed.chat.rooms({ id: pathSegment(roomId) })
  let refreshing: Promise<StoredTokens> | null = null

  function endSession(code: string) {
    tokens.save(null)
    options.onSessionEnded?.(code)
  }

  function currentTokens(): StoredTokens {
    const current = tokens.load()
    if (current === null) throw new ApiError(401, NOT_LOGGED_IN, 'Log in first')
    return current
  }

  /** Rotates the refresh token. Concurrent callers share one request, so a token is never spent twice by this client. */
  function refresh(): Promise<StoredTokens> {
    refreshing ??= (async () => {
      const answer = await open.auth.refresh.post({ refreshToken: currentTokens().refreshToken })
      if (answer.error !== null) {
        const error = toApiError(answer)
        if (isSessionEnded(error)) endSession(error.code)
        throw error
      }
      const next = toStoredTokens(answer.data)
      tokens.save(next)
      return next
    })().finally(() => {
      refreshing = null
    })
    return refreshing
  }

  /**
   * The access token, refreshed first when its renewal time has come. If the refresh fails
   * without ending the session (the network, or the auth service down: 502, 503), a token
   * that has not expired yet is still returned, so an outage in the renewal window costs
   * no call.
   */
  async function getAccessToken(): Promise<AccessToken> {
    const current = currentTokens()
    if (Date.now() < current.renewAt) return toAccessToken(current)
    try {
      return toAccessToken(await refresh())
    } catch (error) {
      if (!isSessionEnded(error) && Date.now() < current.expiresAt) return toAccessToken(current)
      throw error
    }
  }

  async function fetchWithToken(input: string, init: RequestInit): Promise<Response> {
    const attempt = async (accessToken: string) => {
      const headers = new Headers(init.headers)
      headers.set('authorization', `Bearer ${accessToken}`)
      return fetch(input, { ...init, headers })
    }
    const sent = (await getAccessToken()).token
    const response = await attempt(sent)
    if (response.status !== 401) return response
    const code = await errorCodeOf(response)
    if (code === 'TOKEN_EXPIRED') {
      // Concurrent calls sent with the same expired token all land here: the first one to
      // find it still stored rotates the refresh token (the others share that refresh while
      // it runs); once it is replaced, a late one just retries with the new token.
      if (tokens.load()?.accessToken === sent) await refresh()
      return attempt((await getAccessToken()).token)
    }
    if (code === 'TOKEN_REVOKED') endSession(code)
    return response
  }

  async function logout(scope: LogoutScope = 'local'): Promise<void> {
    try {
      await unwrap(authed.auth.logout.post({ scope }))
    } catch (error) {
      // Already logged out (revoked elsewhere, or no tokens): the local copy goes all the same.
      if (!isSessionEnded(error)) throw error
    }
    if (scope !== 'others') tokens.save(null)
  }

  return {
    // Sessions (auth service)
    /**
     * Opens a session and keeps its tokens. For a user with two-factor on the answer is
     * `{mfaRequired: true, mfaToken}` and nothing is kept: `verifyMfa` with a code finishes.
     */
    async login(login: string, password: string) {
      const answer = await unwrap(open.auth.login.post({ login, password }))
      if ('mfaRequired' in answer) return answer
      tokens.save(toStoredTokens(answer))
      return answer
    },
    /** Finishes a login that answered `mfaRequired`, with a TOTP or recovery code; keeps the tokens. */
    async verifyMfa(mfaToken: string, code: string) {
      const pair = await unwrap(open.auth.mfa.verify.post({ mfaToken, code }))
      tokens.save(toStoredTokens(pair))
      return pair
    },
    refresh,
    getAccessToken,
    isLoggedIn: () => tokens.load() !== null,
    /** `local`: this session; `global`: every session of the user; `others`: all but this one. */
    logout,
    listSessions: () => unwrap(authed.auth.sessions.get()),
    revokeSession: (sessionId: string) => unwrap(authed.auth.sessions({ id: pathSegment(sessionId) }).delete()),
    /** Every other session of the user is revoked; this one stays. */
    changePassword: (currentPassword: string, newPassword: string) => unwrap(authed.auth.password.put({ currentPassword, newPassword })),
    getSigningKeys: () => unwrap(open.auth['.well-known']['jwks.json'].get()),

    // Two-factor (auth service)
    getMfaStatus: () => unwrap(authed.auth.mfa.get()),
    /** A fresh TOTP secret and its `otpauth://` URL (the password is asked again); two-factor is on once confirmed. */
    startTotpEnrolment: (currentPassword: string) => unwrap(authed.auth.mfa.totp.post({ currentPassword })),
    /** Turns two-factor on; answers the 10 recovery codes (shown once). Other sessions are revoked. */
    confirmTotpEnrolment: (code: string) => unwrap(authed.auth.mfa.totp.confirm.post({ code })),
    /** With a TOTP or recovery code. */
    disableTotp: (code: string) => unwrap(authed.auth.mfa.totp.delete({ code })),
    // Email verification and password reset (auth service; the tokens come from mailed links)
    verifyEmail: (token: string) => unwrap(open.auth.email.verify.post({ token })),
    /** Mails a new verification link to the signed-in user's address. */
    resendVerification: () => unwrap(authed.auth.email.verify.resend.post()),
    /** Answers alike whether or not an account has the address. */
    forgotPassword: (email: string) => unwrap(open.auth.password.forgot.post({ email })),
    /** Every session of the account ends; log in with the new password next. */
    resetPassword: (token: string, newPassword: string) => unwrap(open.auth.password.reset.post({ token, newPassword })),

    // Users
    /** Creates the account; log in next (no token is issued). */
    register: (account: Parameters<typeof open.users.post>[0]) => unwrap(open.users.post(account)),
    getMe: () => unwrap(authed.users.me.get()),
    updateMe: (changes: Parameters<typeof authed.users.me.patch>[0]) => unwrap(authed.users.me.patch(changes)),
    /** Deletes the account; its sessions end, so the local tokens go too. */
    async deleteMe(password: string) {
      await unwrap(authed.users.me.delete({ password }))
      tokens.save(null)
    },
    getUser: (userId: string) => unwrap(authed.users({ id: pathSegment(userId) }).get()),
    searchUsers: (query: { q?: string; limit?: number; cursor?: string } = {}) =>
      unwrap(authed.users.get({ query: { ...query, limit: digits(query.limit) } })),

    // Rooms and messages (chat service)
    createRoom: (room: Parameters<typeof authed.chat.rooms.post>[0]) => unwrap(authed.chat.rooms.post(room)),
    /** Public rooms, or with `mine: true` the caller's rooms with `unread` counts. */
    listRooms: (query: { mine?: boolean; q?: string; cursor?: string; limit?: number } = {}) =>
      unwrap(authed.chat.rooms.get({ query: { ...query, limit: digits(query.limit) } })),
    getRoom: (roomId: string) => unwrap(room(roomId).get()),
    joinRoom: (roomId: string) => unwrap(room(roomId).join.post()),
    leaveRoom: (roomId: string) => unwrap(room(roomId).leave.post()),
    /** Owner only: adds a member to a private room. */
    addMember: (roomId: string, userId: string) => unwrap(room(roomId).members.post({ userId })),
    /** The one private room of the pair; the same room on every call, from either side. */
    openDirectRoom: (userId: string) => unwrap(authed.chat.dms.post({ userId })),
    /** Items in ascending `seq`. No cursor: the newest page; `before`: older pages; `after`: newer ones. */
    listMessages: (roomId: string, page: { before?: number; after?: number; limit?: number } = {}) =>
      unwrap(
        room(roomId).messages.get({ query: { before: digits(page.before), after: digits(page.after), limit: digits(page.limit) } }),
      ),
    markRead: (roomId: string, seq: number) => unwrap(room(roomId).read.post({ seq })),
    getPresence: (roomId: string) => unwrap(room(roomId).presence.get()),

    // Room events (issue 9)
    /** The sender only; the answer carries `editedAt`. */
    editMessage: (roomId: string, messageId: string, body: string) => unwrap(room(roomId).messages({ messageId: pathSegment(messageId) }).patch({ body })),
    /** The sender, or an owner/admin of the room; the body is erased for good. */
    deleteMessage: (roomId: string, messageId: string) => unwrap(room(roomId).messages({ messageId: pathSegment(messageId) }).delete()),
    /** Adds (`on`) or takes back the caller's reaction; both are idempotent. */
    react(roomId: string, messageId: string, emoji: string, on: boolean) {
      // Eden puts path parameters in the URL as they are.
      const reaction = room(roomId).messages({ messageId: pathSegment(messageId) }).reactions({ emoji: pathSegment(emoji) })
      return unwrap(on ? reaction.put() : reaction.delete())
    },
    listMembers: (roomId: string, page: { cursor?: string; limit?: number } = {}) =>
      unwrap(room(roomId).members.get({ query: { cursor: page.cursor, limit: digits(page.limit) } })),
    /** Owner only. */
    setMemberRole: (roomId: string, userId: string, role: Role) => unwrap(room(roomId).members({ userId: pathSegment(userId) }).patch({ role })),
    /** Owner, or an admin removing a member. */
    removeMember: (roomId: string, userId: string) => unwrap(room(roomId).members({ userId: pathSegment(userId) }).delete()),
    banUser: (roomId: string, userId: string, reason?: string) => unwrap(room(roomId).bans.post({ userId, reason })),
    unbanUser: (roomId: string, userId: string) => unwrap(room(roomId).bans({ userId: pathSegment(userId) }).delete()),
    /** Owner/admin: who is banned, newest first, with the reason and who banned them. */
    listBans: (roomId: string, page: { cursor?: string; limit?: number } = {}) =>
      unwrap(room(roomId).bans.get({ query: { cursor: page.cursor, limit: digits(page.limit) } })),
    /** The room's stream after `after`: messages (`kind: "message"`) and events, ascending with no gap. */
    listEvents: (roomId: string, page: { after?: number; limit?: number } = {}) =>
      unwrap(room(roomId).events.get({ query: { after: digits(page.after), limit: digits(page.limit) } })),
    /** Owner/admin: renames the room or sets its topic. */
    updateRoom: (roomId: string, changes: { name?: string; topic?: string }) => unwrap(room(roomId).patch(changes)),
    /** Owner only: the room, its messages and events are gone. */
    deleteRoom: (roomId: string) => unwrap(room(roomId).delete()),
    createInvite: (roomId: string, options: { maxUses?: number; expiresInSeconds?: number } = {}) => unwrap(room(roomId).invites.post(options)),
    /** Makes the caller a member of the invite's room and answers that room. */
    acceptInvite: (code: string) => unwrap(authed.chat.invites({ code: pathSegment(code) }).accept.post()),
    /** Each member's read marker. */
    listReceipts: (roomId: string) => unwrap(room(roomId).receipts.get()),
    /** Full-text search over the caller's rooms (or one), newest first. */
    searchMessages: (search: { q: string; room?: string; cursor?: string; limit?: number }) =>
      unwrap(authed.chat.search.get({ query: { ...search, limit: digits(search.limit) } })),
  }
}

/**
 * The typed REST client (see createEdenApiClient for what it does). Its type is Eden's,
 * which names the services' apps, printed in full by scripts/build-client.ts (so the
 * package names nothing of the services); the return type makes `tsc` check they agree.
 */
export function createApiClient(options: ApiClientOptions): ApiClient {
  return createEdenApiClient(options)
}
export type { ApiClient }
/** A room as `GET /chat/rooms/:id` answers it, with the topic issue 9 adds. */
export type RoomWithTopic = Awaited<ReturnType<ApiClient['getRoom']>> & { topic?: string | null }
