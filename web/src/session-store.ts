import type { StoredTokens, TokenStore } from '@chat/client/tokens'

const STORAGE_KEY = 'chat.tokens'
const CHANNEL_NAME = 'chat.tokens'

/**
 * Tokens in sessionStorage rather than localStorage: they belong to this tab and are gone
 * when it closes, so a 30-day refresh token does not stay on a shared computer, "Log out"
 * ends exactly this tab's session, and tabs never take turns rotating one refresh token
 * (after the 5 s grace window, a spent token presented again revokes the whole session).
 * Both are readable by script on this origin; the CSP (scripts from this origin only) is
 * the defence there, since a bearer-token API cannot use HttpOnly cookies.
 *
 * A duplicated tab starts with a copy of the same session; every rotation is broadcast to
 * the tabs of this origin, and a tab holding that session adopts the new pair.
 */
export function createSessionTokenStore(): TokenStore {
  const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(CHANNEL_NAME) : null

  function load(): StoredTokens | null {
    const raw = sessionStorage.getItem(STORAGE_KEY)
    if (raw === null) return null
    try {
      return JSON.parse(raw) as StoredTokens
    } catch {
      sessionStorage.removeItem(STORAGE_KEY)
      return null
    }
  }

  function write(tokens: StoredTokens | null) {
    if (tokens === null) sessionStorage.removeItem(STORAGE_KEY)
    else sessionStorage.setItem(STORAGE_KEY, JSON.stringify(tokens))
  }

  channel?.addEventListener('message', (event: MessageEvent<StoredTokens>) => {
    const current = load()
    if (current !== null && event.data.sessionId === current.sessionId) write(event.data)
  })

  return {
    load,
    save(tokens) {
      write(tokens)
      if (tokens !== null) channel?.postMessage(tokens)
    },
  }
}
