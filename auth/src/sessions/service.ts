import type { Sql } from '@chat/common/db'
import { publishRevocation, type RevocationReason, type RevokedSession } from '@chat/common/revocation'
import type { TransactionSql } from 'postgres'
import type { AuthDeps } from '../deps'
import type { ClientInfo, LogoutScope, SessionInfo, TokenPair } from './model'
import { generateRefreshToken, hashRefreshToken, openSuccessor, sealSuccessor } from './refresh-token'

type RevokeDeps = Pick<AuthDeps, 'sql' | 'redis' | 'config' | 'log'>
type SessionDeps = RevokeDeps & Pick<AuthDeps, 'signAccessToken'>

type IdRow = { id: string }
type SessionListRow = { id: string; created_at: Date; last_used_at: Date; user_agent: string | null; ip: string | null }
type WonRow = { session_id: string; user_id: string }
type RevocationRow = { session_id: string; expires_at: Date }
type SpentRow = { session_id: string; successor: Buffer | null; in_grace: boolean; session_live: boolean }

const USER_AGENT_MAX = 256

export type CreateSessionResult = { ok: true; pair: TokenPair } | { ok: false; reason: 'NO_CREDENTIAL' }

/**
 * Opens a session and returns its first token pair; the user's oldest sessions beyond
 * MAX_SESSIONS_PER_USER are revoked. A credential deleted meanwhile (account deletion
 * racing this login) is not found by the insert: no session, no token.
 *
 * `checkedAt` is the credential's `updated_at` (as Postgres prints it) when the password
 * was checked: the session opens only if the credential is unchanged since. A password
 * change, a reset or turning two-factor on while the password was being hashed would
 * otherwise miss this session when it revokes the others. The row is locked `for share`,
 * so such a change waits for this insert to commit, and then finds the session.
 */
export async function createSession(deps: SessionDeps, userId: string, client: ClientInfo, checkedAt?: string): Promise<CreateSessionResult> {
  const { sql, config } = deps
  const sessionId = crypto.randomUUID()
  const refreshToken = generateRefreshToken()
  const opened = await sql.begin(async (tx) => {
    const inserted = await tx`
      insert into auth.sessions (id, user_id, expires_at, user_agent, ip)
      select ${sessionId}, c.user_id, now() + make_interval(days => ${config.SESSION_MAX_AGE_DAYS}),
             ${client.userAgent?.slice(0, USER_AGENT_MAX) ?? null}, ${client.ip}
      from auth.credentials c
      where c.user_id = ${userId} ${checkedAt === undefined ? tx`` : tx`and c.updated_at = ${checkedAt}::text::timestamptz`}
      for share of c`
    if (inserted.count === 0) return false
    await tx`insert into auth.refresh_tokens (token_hash, session_id) values (${hashRefreshToken(refreshToken)}, ${sessionId})`
    return true
  })
  if (!opened) return { ok: false, reason: 'NO_CREDENTIAL' }
  await revokeSessionsOverLimit(deps, userId)
  return { ok: true, pair: await tokenPair(deps, userId, sessionId, refreshToken) }
}

async function revokeSessionsOverLimit(deps: RevokeDeps, userId: string) {
  const excess = await deps.sql<IdRow[]>`
    select id from auth.sessions
    where user_id = ${userId} and revoked_at is null and expires_at > now()
    order by created_at desc, id
    offset ${deps.config.MAX_SESSIONS_PER_USER}`
  await revokeSessions(deps, excess.map((row) => row.id), 'session-limit')
}

async function tokenPair(deps: SessionDeps, userId: string, sessionId: string, refreshToken: string): Promise<TokenPair> {
  const { token, expiresIn } = await deps.signAccessToken({ userId, sessionId })
  return { accessToken: token, refreshToken, tokenType: 'Bearer', expiresIn, sessionId }
}

export type RotateResult =
  | { ok: true; pair: TokenPair }
  | { ok: false; reason: 'INVALID_REFRESH_TOKEN' | 'REFRESH_TOKEN_REUSED' }

/**
 * Spends a refresh token and issues the next pair. The conditional UPDATE makes exactly
 * one of many concurrent callers the winner; the others wait on its row lock, then read
 * the sealed successor it committed and get the identical pair while the grace window
 * lasts. A spent token presented after that is treated as stolen: the session dies.
 */
export async function rotateRefreshToken(deps: SessionDeps, refreshToken: string): Promise<RotateResult> {
  const { sql, config } = deps
  const hash = hashRefreshToken(refreshToken)
  const outcome = await sql.begin(async (tx) => {
    const [won] = await tx<WonRow[]>`
      update auth.refresh_tokens r set spent_at = now()
      from auth.sessions s
      where r.token_hash = ${hash} and r.spent_at is null
        and s.id = r.session_id and s.revoked_at is null and s.expires_at > now()
      returning s.id as session_id, s.user_id`
    if (won !== undefined) {
      const nextToken = generateRefreshToken()
      const pair = await tokenPair(deps, won.user_id, won.session_id, nextToken)
      // Three writes, one round trip: data-modifying CTEs all run, whatever the final select reads.
      await tx`
        with next_token as (
          insert into auth.refresh_tokens (token_hash, session_id) values (${hashRefreshToken(nextToken)}, ${won.session_id})
        ), spent_token as (
          update auth.refresh_tokens set successor = ${sealSuccessor(refreshToken, pair)} where token_hash = ${hash}
        ), used_session as (
          update auth.sessions set last_used_at = now() where id = ${won.session_id}
        )
        select 1`
      return { kind: 'rotated' as const, pair }
    }
    const [spent] = await tx<SpentRow[]>`
      select r.session_id, r.successor,
             r.spent_at > now() - make_interval(secs => ${config.REFRESH_REUSE_GRACE_SECONDS}) as in_grace,
             s.revoked_at is null and s.expires_at > now() as session_live
      from auth.refresh_tokens r join auth.sessions s on s.id = r.session_id
      where r.token_hash = ${hash}`
    if (spent === undefined || !spent.session_live) return { kind: 'invalid' as const }
    if (spent.in_grace && spent.successor !== null) {
      const pair = openSuccessor<TokenPair>(refreshToken, spent.successor)
      if (pair !== null) return { kind: 'rotated' as const, pair }
    }
    return { kind: 'reused' as const, sessionId: spent.session_id }
  })
  if (outcome.kind === 'rotated') return { ok: true, pair: outcome.pair }
  if (outcome.kind === 'invalid') return { ok: false, reason: 'INVALID_REFRESH_TOKEN' }
  await revokeSessions(deps, [outcome.sessionId], 'refresh-reused')
  return { ok: false, reason: 'REFRESH_TOKEN_REUSED' }
}

/**
 * Revokes sessions everywhere: first the durable record (the blacklist's source of truth,
 * which also stops their refresh tokens), then the announcement through Redis, which
 * every instance applies at once. If Redis is away the announcement is lost, but not the
 * revocation: every instance reloads the record when its Redis connection comes back, and
 * periodically.
 */
async function revokeSessions(deps: RevokeDeps, sessionIds: string[], reason: RevocationReason) {
  if (sessionIds.length === 0) return
  await recordRevocations(deps.sql, sessionIds, reason, deps.config.ACCESS_TOKEN_TTL_SECONDS)
  await announceRevocations(deps, sessionIds, reason)
}

/**
 * Writes the revocations (kept until the sessions' last access token has expired) and
 * ends the sessions, in one statement (inside the caller's transaction when given one).
 */
async function recordRevocations(sql: Sql | TransactionSql, sessionIds: string[], reason: RevocationReason, ttlSeconds: number) {
  await sql`
    with recorded as (
      insert into auth.revocations (session_id, reason, expires_at)
      select id, ${reason}, now() + make_interval(secs => ${ttlSeconds}) from unnest(${sessionIds}::uuid[]) as id
      on conflict (session_id) do update set expires_at = greatest(auth.revocations.expires_at, excluded.expires_at)
    ), ended as (
      update auth.sessions set revoked_at = now() where id = any(${sessionIds}::uuid[]) and revoked_at is null
    )
    select 1`
}

/**
 * Inside the transaction of a change that must end a user's sessions (a new password,
 * two-factor turned on, the account deleted): records the revocation of every active one but `keep`, so the
 * change and the revocation commit together or not at all. Hand the ids returned to
 * `announceRevocations` after the commit.
 */
export async function revokeSessionsWithin(tx: TransactionSql, userId: string, keep: string | null, reason: RevocationReason, ttlSeconds: number): Promise<string[]> {
  const sessionIds = (await listActiveSessionIds(tx, userId)).filter((id) => id !== keep)
  if (sessionIds.length > 0) await recordRevocations(tx, sessionIds, reason, ttlSeconds)
  return sessionIds
}

/** The fast path; its failure is logged, not thrown, because the revocation is already durable. */
export async function announceRevocations(deps: RevokeDeps, sessionIds: string[], reason: RevocationReason) {
  if (sessionIds.length === 0) return
  try {
    await publishRevocation(deps.redis, deps.config.REDIS_PREFIX, sessionIds, reason, deps.config.ACCESS_TOKEN_TTL_SECONDS)
  } catch (error) {
    deps.log.warn('revocation stored but not announced; instances pick it up on reconnect or at their next reload', { sessions: sessionIds.length, reason, error })
  }
}

/** Revocations whose sessions may still have unexpired access tokens: what every verifier must refuse. */
export async function listRevocationsInForce(sql: Sql | TransactionSql): Promise<RevokedSession[]> {
  const rows = await sql<RevocationRow[]>`select session_id, expires_at from auth.revocations where expires_at > now()`
  return rows.map((row) => ({ sessionId: row.session_id, expiresAt: row.expires_at.getTime() }))
}

async function listActiveSessionIds(sql: Sql | TransactionSql, userId: string): Promise<string[]> {
  const rows = await sql<IdRow[]>`
    select id from auth.sessions where user_id = ${userId} and revoked_at is null and expires_at > now()`
  return rows.map((row) => row.id)
}

/** Ends the caller's sessions as the logout scope says. */
export async function logout(deps: RevokeDeps, userId: string, currentSessionId: string, scope: LogoutScope) {
  const active = scope === 'local' ? [] : await listActiveSessionIds(deps.sql, userId)
  const targets =
    scope === 'local' ? [currentSessionId] : scope === 'global' ? [...new Set([...active, currentSessionId])] : active.filter((id) => id !== currentSessionId)
  await revokeSessions(deps, targets, 'logout')
}

export async function listSessions(deps: Pick<AuthDeps, 'sql'>, userId: string, currentSessionId: string): Promise<SessionInfo[]> {
  const rows = await deps.sql<SessionListRow[]>`
    select id, created_at, last_used_at, user_agent, ip from auth.sessions
    where user_id = ${userId} and revoked_at is null and expires_at > now()
    order by created_at desc`
  return rows.map((row) => ({
    id: row.id,
    createdAt: row.created_at.toISOString(),
    lastUsedAt: row.last_used_at.toISOString(),
    userAgent: row.user_agent,
    ip: row.ip,
    current: row.id === currentSessionId,
  }))
}

export type RevokeOwnSessionResult = { ok: true } | { ok: false; reason: 'NOT_FOUND' }

export async function revokeOwnSession(deps: RevokeDeps, userId: string, sessionId: string): Promise<RevokeOwnSessionResult> {
  const [row] = await deps.sql<IdRow[]>`
    select id from auth.sessions where id = ${sessionId} and user_id = ${userId} and revoked_at is null`
  if (row === undefined) return { ok: false, reason: 'NOT_FOUND' }
  await revokeSessions(deps, [sessionId], 'session-revoked')
  return { ok: true }
}
