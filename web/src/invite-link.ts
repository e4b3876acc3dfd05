/**
 * `/invite/<code>` opened in the browser: the code is kept for this tab until the user is
 * logged in, then accepted (chat-view.ts). The address bar goes back to `/`, so a reload
 * does not accept it again.
 */
const STORAGE_KEY = 'chat.invite'
/**
 * Taken as written, not decoded: a real code is letters, digits, `-` and `_` only. Anything
 * else is sent encoded as one path segment (see the client's pathSegment), so the service
 * refuses it and the user is told, and it cannot reach another route.
 */
const INVITE_PATH = /^\/invite\/([^/]+)\/?$/

/** Takes an invite code from the page's address, if it has one. */
export function captureInviteCode() {
  const match = INVITE_PATH.exec(location.pathname)
  if (match === null) return
  sessionStorage.setItem(STORAGE_KEY, match[1])
  history.replaceState(null, '', '/')
}

/** The code waiting to be accepted, once: it is forgotten as it is taken. */
export function takeInviteCode(): string | null {
  const code = sessionStorage.getItem(STORAGE_KEY)
  sessionStorage.removeItem(STORAGE_KEY)
  return code
}
