/**
 * The pages mailed links open: `/verify-email?token=…` and `/reset-password?token=…`. The
 * token is taken out of the address bar at once (back to `/`), so it stays in neither the
 * history nor a bookmark, and a reload does not spend it again.
 */
export type AccountLink = { page: 'verify-email' | 'reset-password'; token: string }

const PAGES = new Set<AccountLink['page']>(['verify-email', 'reset-password'])

export function takeAccountLink(): AccountLink | null {
  const page = location.pathname.replace(/^\/+|\/+$/g, '') as AccountLink['page']
  if (!PAGES.has(page)) return null
  const token = new URLSearchParams(location.search).get('token') ?? ''
  history.replaceState(null, '', '/')
  return { page, token }
}
