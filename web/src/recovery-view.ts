import type { ApiClient } from '@chat/client/api'
import { ApiError } from '@chat/client/errors'
import { describeError, showAuthView, submitting } from './auth-view'
import { byId } from './dom'

const INVALID_LINK = 'This link is invalid, expired or already used.'

/** "Forgot password?" under the login form opens a form that asks for the address. */
export function setUpForgotForm(api: ApiClient) {
  const toggle = byId<HTMLButtonElement>('forgot-button')
  const form = byId<HTMLFormElement>('forgot-form')
  const sent = byId('forgot-sent')
  toggle.addEventListener('click', () => {
    form.hidden = !form.hidden
    toggle.setAttribute('aria-expanded', String(!form.hidden))
    if (!form.hidden) byId<HTMLInputElement>('forgot-email').focus()
  })
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const email = byId<HTMLInputElement>('forgot-email').value.trim()
    sent.hidden = true
    void submitting(form, byId('forgot-error'), async () => {
      // The answer is the same whether or not an account has the address, and so is the notice.
      await api.forgotPassword(email)
      sent.textContent = `If an account has the address ${email}, a mail with a link is on its way. The link works for 30 minutes.`
      sent.hidden = false
    })
  })
}

/** The page of a reset link: a new password, then the login with a notice. */
export function showResetView(api: ApiClient, token: string, onReset: () => void) {
  byId('reset-view').hidden = false
  const form = byId<HTMLFormElement>('reset-form')
  const password = byId<HTMLInputElement>('reset-password')
  password.focus()
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    void submitting(form, byId('reset-error'), async () => {
      try {
        await api.resetPassword(token, password.value)
      } catch (error) {
        if (error instanceof ApiError && error.code === 'INVALID_TOKEN') throw new ApiError(400, 'INVALID_TOKEN', `${INVALID_LINK} Ask for a new one with “Forgot password?”.`)
        throw error
      }
      byId('reset-view').hidden = true
      onReset()
      showAuthView('Your password was changed and every device was logged out. Log in with the new password.')
    })
  })
}

/** The page of a verification link: confirms at once and says how it went. */
export async function showVerifyView(api: ApiClient, token: string) {
  byId('verify-view').hidden = false
  const result = byId('verify-result')
  try {
    await api.verifyEmail(token)
    result.textContent = 'Your email address is confirmed. Thank you!'
  } catch (error) {
    result.textContent = error instanceof ApiError && error.code === 'INVALID_TOKEN' ? `${INVALID_LINK} Log in to have a new one sent.` : describeError(error)
  }
}

/** Until the address is confirmed, the chat shows a banner that can send the link again. */
export async function showVerifyBanner(api: ApiClient) {
  const me = await api.getMe()
  const banner = byId('verify-banner')
  const text = byId('verify-banner-text')
  banner.hidden = me.emailVerified
  if (me.emailVerified) return
  text.textContent = `Please confirm your email address: open the link we mailed to ${me.email}.`
  const resend = byId<HTMLButtonElement>('verify-resend')
  resend.onclick = async () => {
    resend.disabled = true
    try {
      await api.resendVerification()
      text.textContent = `A new link is on its way to ${me.email}.`
    } catch (error) {
      text.textContent = describeError(error)
    } finally {
      resend.disabled = false
    }
  }
}
