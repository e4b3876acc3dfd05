import { publishRevocation, type RevocationReason } from '@chat/common/revocation'
import type { AuthDeps } from '../deps'
import type { ClientInfo, LogoutScope, SessionInfo, TokenPair } from './model'
import { generateRefreshToken, hashRefreshToken, openSuccessor, sealSuccessor } from './refresh-token'

type SessionDeps = Pick<AuthDeps, 'sql' | 'redis' | 'config' | 'signAccessToken'>

const USER_AGENT_MAX = 256

/** Opens a session and returns its first token pair. */
export async function createSession(deps: SessionDeps, userId: string, client: ClientInfo): Promise<TokenPair> {
  const { sql, config } = deps
  const sessionId = crypto.randomUUID()
  const refreshToken = generateRefreshToken()
  await sql.begin(async (tx) => {
    await tx`
      insert into auth.sessions (id, user_id, expires_at, user_agent, ip)
      values (${sessionId}, ${userId}, now() + make_interval(days => ${config.SESSION_MAX_AGE_DAYS}),
              ${client.userAgent?.slice(0, USER_AGENT_MAX) ?? null}, ${client.ip})`
    await tx`insert into auth.refresh_tokens (token_hash, session_id) values (${hashRefreshToken(refreshToken)}, ${sessionId})`
  })
  return tokenPair(deps, userId, sessionId, refreshToken)
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
    const [won] = await tx`
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
    const [spent] = await tx`
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
    return { kind: 'reused' as const, sessionId: spent.session_id as string }
  })
  if (outcome.kind === 'rotated') return { ok: true, pair: outcome.pair }
  if (outcome.kind === 'invalid') return { ok: false, reason: 'INVALID_REFRESH_TOKEN' }
  await revokeSessions(deps, [outcome.sessionId], 'refresh-reused')
  return { ok: false, reason: 'REFRESH_TOKEN_REUSED' }
}

/**
 * Revokes sessions everywhere: first the blacklist (so every instance refuses their access
 * tokens at once), then the rows (so their refresh tokens stop working). If Redis is down
 * this throws before anything changed, and the caller can retry.
 */
export async function revokeSessions(deps: Pick<AuthDeps, 'sql' | 'redis' | 'config'>, sessionIds: string[], reason: RevocationReason) {
  if (sessionIds.length === 0) return
  await publishRevocation(deps.redis, sessionIds, reason, deps.config.ACCESS_TOKEN_TTL_SECONDS)
  await deps.sql`update auth.sessions set revoked_at = now() where id = any(${sessionIds}::uuid[]) and revoked_at is null`
}

export async function listActiveSessionIds(deps: Pick<AuthDeps, 'sql'>, userId: string): Promise<string[]> {
  const rows = await deps.sql`
    select id from auth.sessions where user_id = ${userId} and revoked_at is null and expires_at > now()`
  return rows.map((row) => row.id as string)
}

/** Ends the caller's sessions as the logout scope says. */
export async function logout(deps: Pick<AuthDeps, 'sql' | 'redis' | 'config'>, userId: string, currentSessionId: string, scope: LogoutScope) {
  const active = scope === 'local' ? [] : await listActiveSessionIds(deps, userId)
  const targets =
    scope === 'local' ? [currentSessionId] : scope === 'global' ? [...new Set([...active, currentSessionId])] : active.filter((id) => id !== currentSessionId)
  await revokeSessions(deps, targets, 'logout')
}

export async function listSessions(deps: Pick<AuthDeps, 'sql'>, userId: string, currentSessionId: string): Promise<SessionInfo[]> {
  const rows = await deps.sql`
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

export async function revokeOwnSession(deps: Pick<AuthDeps, 'sql' | 'redis' | 'config'>, userId: string, sessionId: string): Promise<RevokeOwnSessionResult> {
  const [row] = await deps.sql`
    select id from auth.sessions where id = ${sessionId} and user_id = ${userId} and revoked_at is null`
  if (row === undefined) return { ok: false, reason: 'NOT_FOUND' }
  await revokeSessions(deps, [sessionId], 'session-revoked')
  return { ok: true }
}
