import { isUniqueViolation } from '@chat/common/db'
import { createRateLimiter, ipLimitKey, type RateLimiter } from '@chat/common/limits'
import { clampLimit, decodeCursor, encodeCursor, escapeLike } from '@chat/common/pagination'
import { findPasswordWeakness } from '@chat/common/passwords'
import type { VerifyPasswordResult } from '../auth-client'
import type { UserDeps } from '../deps'
import type { PublicProfile, RegisterBody, SearchQuery, UpdateMeBody, User, UserPage } from './model'

type UserRow = {
  id: string
  username: string
  email: string
  email_verified: boolean
  display_name: string
  bio: string | null
  avatar_url: string | null
  created_at: Date
  updated_at: Date
}
type Conflict = 'USERNAME_TAKEN' | 'EMAIL_TAKEN'

/** Thrown inside a transaction to roll it back with a reason the caller maps to an answer. */
class Abort extends Error {
  constructor(readonly reason: Conflict | 'UNAVAILABLE') {
    super(reason)
  }
}

export type RegisterResult =
  | { ok: true; user: User }
  | { ok: false; reason: Conflict | 'UNAVAILABLE' }
  | { ok: false; reason: 'WEAK_PASSWORD'; why: string }
  | { ok: false; reason: 'TOO_MANY_REGISTRATIONS'; retryAfterSeconds: number }

/** Every registration attempt per client IP counts, so nobody mass-creates accounts or probes names from one address. */
export function createRegistrationLimiter(deps: Pick<UserDeps, 'redis' | 'config'>): RateLimiter {
  return createRateLimiter(deps.redis, {
    prefix: `${deps.config.REDIS_PREFIX}user:registrations:ip:`,
    max: deps.config.REGISTRATION_MAX_PER_IP,
    windowSeconds: deps.config.REGISTRATION_WINDOW_SECONDS,
  })
}

/**
 * The profile is written here and the credential in the auth service. The row is inserted
 * in a transaction that commits only after auth stored the credential, so a failed auth
 * call leaves nothing behind; if our commit fails after auth succeeded, the credential is
 * removed again.
 */
export async function registerUser(
  deps: Pick<UserDeps, 'sql' | 'auth'>,
  limiter: RateLimiter,
  body: RegisterBody,
  clientIp: string,
  requestId?: string,
): Promise<RegisterResult> {
  const allowed = await limiter.take(ipLimitKey(clientIp))
  if (!allowed.allowed) return { ok: false, reason: 'TOO_MANY_REGISTRATIONS', retryAfterSeconds: allowed.retryAfterSeconds }
  const why = findPasswordWeakness(body.password, body)
  if (why !== null) return { ok: false, reason: 'WEAK_PASSWORD', why }
  const id = crypto.randomUUID()
  let credentialCreated = false
  try {
    const user = await deps.sql.begin(async (tx) => {
      const [row] = await tx<UserRow[]>`
        insert into users.users (id, username, email, display_name)
        values (${id}, ${body.username}, ${body.email}, ${body.displayName?.normalize('NFC').trim() ?? body.username})
        returning *`
      const created = await deps.auth.createCredential(id, { username: body.username, email: body.email }, body.password, requestId)
      if (!created.ok) throw new Abort(created.reason)
      credentialCreated = true
      return toUser(row)
    })
    return { ok: true, user }
  } catch (error) {
    if (credentialCreated) await deps.auth.deleteCredential(id, requestId)
    return { ok: false, reason: failureReason(error) }
  }
}

export async function getUser(deps: Pick<UserDeps, 'sql'>, id: string): Promise<User | null> {
  const [row] = await deps.sql<UserRow[]>`select * from users.users where id = ${id}`
  return row === undefined ? null : toUser(row)
}

/** Called by auth when a verification link is used; only the address the link was sent to, if the user still has it. */
export async function markEmailVerified(deps: Pick<UserDeps, 'sql'>, id: string, email: string): Promise<boolean> {
  const rows = await deps.sql`update users.users set email_verified = true where id = ${id} and lower(email) = lower(${email}) returning id`
  return rows.length > 0
}

export async function getPublicProfile(deps: Pick<UserDeps, 'sql'>, id: string): Promise<PublicProfile | null> {
  const user = await getUser(deps, id)
  return user === null ? null : toPublicProfile(user)
}

export type UpdateResult =
  | { ok: true; user: User }
  | { ok: false; reason: Conflict | 'NOT_FOUND' | 'UNAVAILABLE' | 'PASSWORD_REQUIRED' | 'INVALID_PASSWORD' }
  | { ok: false; reason: 'TOO_MANY_ATTEMPTS' | 'TOO_MANY_EMAIL_CHANGES'; retryAfterSeconds: number }

/**
 * Every attempt to change an account's email counts, however it ends: a taken address
 * answers 409 and a free one is mailed, so without a limit one account could test which
 * addresses are registered, or mail any address again and again.
 */
export function createEmailChangeLimiter(deps: Pick<UserDeps, 'redis' | 'config'>): RateLimiter {
  return createRateLimiter(deps.redis, {
    prefix: `${deps.config.REDIS_PREFIX}user:email-changes:user:`,
    max: deps.config.EMAIL_CHANGE_MAX_PER_USER,
    windowSeconds: deps.config.EMAIL_CHANGE_WINDOW_SECONDS,
  })
}

type EmailRow = { email: string }

/**
 * Username and email changes are mirrored to the auth service inside the same transaction
 * (auth then mails the new address a verification link and tells the former one). A new
 * email needs the current password, checked by auth (wrong ones count against its
 * re-authentication limit): otherwise a stolen access token plus "forgot password" sent
 * to an address of the thief's would take the account over.
 */
export async function updateUser(
  deps: Pick<UserDeps, 'sql' | 'auth'>,
  emailChanges: RateLimiter,
  id: string,
  patch: UpdateMeBody,
  requestId?: string,
): Promise<UpdateResult> {
  if (patch.email !== undefined) {
    const [current] = await deps.sql<EmailRow[]>`select email from users.users where id = ${id}`
    if (current === undefined) return { ok: false, reason: 'NOT_FOUND' }
    if (current.email.toLowerCase() !== patch.email.toLowerCase()) {
      if (patch.currentPassword === undefined) return { ok: false, reason: 'PASSWORD_REQUIRED' }
      const attempt = await emailChanges.take(id)
      if (!attempt.allowed) return { ok: false, reason: 'TOO_MANY_EMAIL_CHANGES', retryAfterSeconds: attempt.retryAfterSeconds }
      const verified = await deps.auth.verifyPassword(id, patch.currentPassword, requestId)
      if (!verified.ok) return verified
    }
  }
  try {
    const user = await deps.sql.begin(async (tx) => {
      const [row] = await tx<UserRow[]>`
        update users.users set
          username = coalesce(${patch.username ?? null}, username),
          email_verified = email_verified and lower(email) = lower(coalesce(${patch.email ?? null}, email)),
          email = coalesce(${patch.email ?? null}, email),
          display_name = coalesce(${patch.displayName?.normalize('NFC').trim() ?? null}, display_name),
          bio = ${patch.bio === undefined ? tx`bio` : patch.bio},
          avatar_url = ${patch.avatarUrl === undefined ? tx`avatar_url` : patch.avatarUrl},
          updated_at = now()
        where id = ${id}
        returning *`
      if (row === undefined) return null
      if (patch.username !== undefined || patch.email !== undefined) {
        const mirrored = await deps.auth.updateIdentity(id, { username: patch.username, email: patch.email }, requestId)
        if (!mirrored.ok) throw new Abort(mirrored.reason)
      }
      return toUser(row)
    })
    return user === null ? { ok: false, reason: 'NOT_FOUND' } : { ok: true, user }
  } catch (error) {
    return { ok: false, reason: failureReason(error) }
  }
}

export type DeleteResult = VerifyPasswordResult

/**
 * Deletes the account after the password is confirmed (wrong ones count against auth's
 * re-authentication limit). The auth call (which revokes every
 * session everywhere and drops the credential) runs inside the transaction, so the profile
 * disappears only if the account can no longer be used.
 */
export async function deleteUser(deps: Pick<UserDeps, 'sql' | 'auth'>, id: string, password: string, requestId?: string): Promise<DeleteResult> {
  const verified = await deps.auth.verifyPassword(id, password, requestId)
  if (!verified.ok) return verified
  try {
    await deps.sql.begin(async (tx) => {
      await tx`delete from users.users where id = ${id}`
      const deleted = await deps.auth.deleteCredential(id, requestId)
      if (!deleted.ok) throw new Abort('UNAVAILABLE')
    })
    return { ok: true }
  } catch (error) {
    if (error instanceof Abort) return { ok: false, reason: 'UNAVAILABLE' }
    throw error
  }
}

/** Searches per user per minute, whatever they find. */
export function createSearchLimiter(deps: Pick<UserDeps, 'redis' | 'config'>): RateLimiter {
  return createRateLimiter(deps.redis, {
    prefix: `${deps.config.REDIS_PREFIX}user:searches:user:`,
    max: deps.config.SEARCH_MAX_PER_MINUTE_PER_USER,
    windowSeconds: 60,
  })
}

/** Prefix search over username and display name, keyset-paginated by (lower(username), id). */
export async function searchUsers(
  deps: Pick<UserDeps, 'sql' | 'config'>,
  query: SearchQuery,
): Promise<UserPage | { error: 'BAD_CURSOR' }> {
  const limit = clampLimit(query.limit, deps.config.SEARCH_DEFAULT_LIMIT, deps.config.SEARCH_MAX_LIMIT)
  const after = query.cursor === undefined ? null : decodeCursor(query.cursor)
  if (after === undefined) return { error: 'BAD_CURSOR' }
  const prefix = escapeLike((query.q ?? '').normalize('NFC').trim().toLowerCase()) + '%'
  const rows = await deps.sql<UserRow[]>`
    select * from users.users
    where (lower(username) like ${prefix} or lower(display_name) like ${prefix})
      ${after === null ? deps.sql`` : deps.sql`and (lower(username), id) > (${after[0]}, ${after[1]}::uuid)`}
    order by lower(username), id
    limit ${limit + 1}`
  const page = rows.slice(0, limit).map((row) => toPublicProfile(toUser(row)))
  const last = page.at(-1)
  return { items: page, nextCursor: rows.length > limit && last ? encodeCursor([last.username.toLowerCase(), last.id]) : null }
}

function failureReason(error: unknown): Conflict | 'UNAVAILABLE' {
  if (error instanceof Abort) return error.reason
  if (isUniqueViolation(error, 'users_username_key')) return 'USERNAME_TAKEN'
  if (isUniqueViolation(error, 'users_email_key')) return 'EMAIL_TAKEN'
  throw error
}

function toUser(row: UserRow): User {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    emailVerified: row.email_verified,
    displayName: row.display_name,
    bio: row.bio,
    avatarUrl: row.avatar_url,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  }
}

export function toPublicProfile(user: User): PublicProfile {
  return { id: user.id, username: user.username, displayName: user.displayName, bio: user.bio, avatarUrl: user.avatarUrl }
}
