/**
 * The client's copy of a session's tokens, with the times (on this machine's clock) at
 * which the access token should be renewed and at which it expires.
 */

/** Renew this long before the access token expires, so a slow network still beats the expiry… */
const RENEW_AHEAD_MS = 60_000
/** …or a third of the lifetime when that is shorter (tokens of a few seconds, as tests use). */
const RENEW_AHEAD_SHARE = 1 / 3

export type StoredTokens = {
  accessToken: string
  refreshToken: string
  sessionId: string
  /** Local time (ms) from which the access token is refreshed before use. */
  renewAt: number
  /** Local time (ms) at which the server stops accepting the access token. */
  expiresAt: number
}

/** An access token with its renewal and expiry times, as the socket needs it. */
export type AccessToken = { token: string; renewAt: number; expiresAt: number }

/** Where a session's tokens live between calls (memory, sessionStorage, …). `load` is called before every use. */
export type TokenStore = {
  load(): StoredTokens | null
  save(tokens: StoredTokens | null): void
}

type TokenPair = { accessToken: string; refreshToken: string; sessionId: string; expiresIn: number }

/**
 * `expiresIn` is relative, so the times are computed on the local clock from the moment the
 * pair arrived: a client whose clock is off still renews in time.
 */
export function toStoredTokens(pair: TokenPair, receivedAt = Date.now()): StoredTokens {
  const lifetimeMs = pair.expiresIn * 1000
  const aheadMs = Math.min(RENEW_AHEAD_MS, lifetimeMs * RENEW_AHEAD_SHARE)
  return {
    accessToken: pair.accessToken,
    refreshToken: pair.refreshToken,
    sessionId: pair.sessionId,
    renewAt: receivedAt + lifetimeMs - aheadMs,
    expiresAt: receivedAt + lifetimeMs,
  }
}

export function toAccessToken(tokens: StoredTokens): AccessToken {
  return { token: tokens.accessToken, renewAt: tokens.renewAt, expiresAt: tokens.expiresAt }
}

export function createMemoryTokenStore(initial: StoredTokens | null = null): TokenStore {
  let current = initial
  return {
    load: () => current,
    save: (tokens) => {
      current = tokens
    },
  }
}
