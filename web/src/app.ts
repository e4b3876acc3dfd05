import { createApiClient, type LogoutScope } from '@chat/client/api'
import { isSessionEnded } from '@chat/client/errors'
import { takeAccountLink } from './account-links'
import { describeError, setUpAuthView, showAuthView } from './auth-view'
import { showBanner, startChat } from './chat-view'
import { byId } from './dom'
import { captureInviteCode } from './invite-link'
import { setUpSecurityView } from './security-view'
import { setUpForgotForm, showResetView, showVerifyBanner, showVerifyView } from './recovery-view'
import { createSessionTokenStore } from './session-store'

const ENDED_NOTICE = 'Your session has ended. Please log in again.'
const LOGOUT_NOTICE: Record<Exclude<LogoutScope, 'others'>, string> = {
  local: 'You are logged out.',
  global: 'You are logged out on every device.',
}

/** The page's one API client: same origin as the page (Caddy serves both), tokens in this tab's sessionStorage. */
const tokens = createSessionTokenStore()
const api = createApiClient({ baseUrl: location.origin, tokens, onSessionEnded: () => leaveChat(ENDED_NOTICE) })
let stopChat: (() => void) | null = null

async function enterChat() {
  try {
    stopChat = await startChat(api, {
      // The server ended the session (revoked elsewhere, expired): its tokens are worthless now.
      onEnded: (notice) => {
        tokens.save(null)
        leaveChat(notice)
      },
    })
    void showVerifyBanner(api).catch(() => {})
  } catch (error) {
    // Tokens stay when the server was merely unreachable, so a reload can carry on.
    leaveChat(isSessionEnded(error) ? ENDED_NOTICE : describeError(error))
  }
}

/**
 * Calls still in flight when the chat ended answer 401 too, so the first notice says why,
 * unless `replaceNotice`: a logout of one's own also revokes this tab's socket (4403),
 * and may hear of that before its own answer.
 */
function leaveChat(notice: string, options: { replaceNotice?: boolean } = {}) {
  if (stopChat === null && !byId('auth-view').hidden && options.replaceNotice !== true) return
  stopChat?.()
  stopChat = null
  showAuthView(notice)
}

async function logOut(scope: Exclude<LogoutScope, 'others'>) {
  try {
    await api.logout(scope)
    leaveChat(LOGOUT_NOTICE[scope], { replaceNotice: true })
  } catch (error) {
    showBanner(`Could not log out: ${describeError(error)}`)
  }
}

/** The security page is its own route (a full page load from the chat's header, so the chat's socket is not kept open behind it). */
const SECURITY_PATH = '/security'
const security = setUpSecurityView(api)

async function enterSecurity() {
  try {
    await security.show()
  } catch (error) {
    if (isSessionEnded(error)) leaveChat(ENDED_NOTICE)
    else showBanner(describeError(error))
  }
}

const enterApp = () => void (location.pathname === SECURITY_PATH ? enterSecurity() : enterChat())

// Before anything else: a login form shown for `/invite/<code>` must not lose the code,
// and a mailed link's token leaves the address bar.
captureInviteCode()
const accountLink = takeAccountLink()
setUpAuthView(api, enterApp)
setUpForgotForm(api)
byId('logout-button').addEventListener('click', () => void logOut('local'))
byId('logout-everywhere-button').addEventListener('click', () => void logOut('global'))

// A reset ended every session, this tab's included.
if (accountLink?.page === 'reset-password') showResetView(api, accountLink.token, () => tokens.save(null))
else if (accountLink?.page === 'verify-email') void showVerifyView(api, accountLink.token)
else if (api.isLoggedIn()) enterApp()
else showAuthView(null)
