import type { ApiClient } from '@chat/client/api'
import { ApiError, NETWORK_ERROR } from '@chat/client/errors'
import { byId } from './dom'

/** Says what went wrong in words a person can act on; field details name the fields. */
export function describeError(error: unknown): string {
  if (!(error instanceof ApiError)) return 'Something went wrong. Please try again.'
  if (error.code === NETWORK_ERROR) return 'The server cannot be reached. Check your connection and try again.'
  if (error.code === 'INVALID_CODE') return 'That code is not right, or was already used. Try the next one your app shows.'
  if (error.code === 'TOO_MANY_ATTEMPTS' && error.retryAfterSeconds !== null) {
    return `Too many attempts. Try again in ${Math.ceil(error.retryAfterSeconds / 60)} minute(s).`
  }
  const details = error.details.map((d) => `${d.field}: ${d.message}`)
  return [error.message, ...details].join(' — ')
}

/** Marks the inputs the error's details name as invalid, and clears the mark on the others. */
function markInvalidFields(form: HTMLFormElement, error: unknown) {
  const invalid = new Set(error instanceof ApiError ? error.details.map((d) => d.field) : [])
  for (const input of form.querySelectorAll('input')) {
    if (invalid.has(input.name)) input.setAttribute('aria-invalid', 'true')
    else input.removeAttribute('aria-invalid')
  }
}

export async function submitting(form: HTMLFormElement, errorBox: HTMLElement, work: () => Promise<void>) {
  const button = form.querySelector('button[type=submit]') as HTMLButtonElement
  button.disabled = true
  errorBox.textContent = ''
  try {
    await work()
    form.reset()
    markInvalidFields(form, null)
  } catch (error) {
    errorBox.textContent = describeError(error)
    markInvalidFields(form, error)
  } finally {
    button.disabled = false
  }
}

const valueOf = (form: HTMLFormElement, name: string) => (form.elements.namedItem(name) as HTMLInputElement).value.trim()

/** What the code step says when its mfaToken is no longer good: the password has to be typed again. */
const CODE_STEP_ENDED = 'The code step has ended (too many wrong codes, or it took too long). Please log in again.'

/**
 * The login and registration forms, and the code step after a right password for a user
 * with two-factor on; `onLoggedIn` runs once tokens are stored.
 */
export function setUpAuthView(api: ApiClient, onLoggedIn: () => void) {
  const loginForm = byId<HTMLFormElement>('login-form')
  const registerForm = byId<HTMLFormElement>('register-form')
  const mfaForm = byId<HTMLFormElement>('mfa-form')
  /** Held only in memory, only between the two steps. */
  let mfaToken: string | null = null

  function showCodeStep(token: string | null) {
    mfaToken = token
    mfaForm.hidden = token === null
    loginForm.hidden = token !== null
    registerForm.hidden = token !== null
    byId<HTMLInputElement>(token === null ? 'login-name' : 'mfa-code').focus()
  }

  loginForm.addEventListener('submit', (event) => {
    event.preventDefault()
    void submitting(loginForm, byId('login-error'), async () => {
      const answer = await api.login(valueOf(loginForm, 'login'), (loginForm.elements.namedItem('password') as HTMLInputElement).value)
      if ('mfaRequired' in answer) showCodeStep(answer.mfaToken)
      else onLoggedIn()
    })
  })

  mfaForm.addEventListener('submit', (event) => {
    event.preventDefault()
    const token = mfaToken
    if (token === null) return
    void submitting(mfaForm, byId('mfa-error'), async () => {
      try {
        await api.verifyMfa(token, valueOf(mfaForm, 'code'))
      } catch (error) {
        if (!(error instanceof ApiError) || error.code !== 'INVALID_TOKEN') throw error
        showCodeStep(null)
        byId('login-error').textContent = CODE_STEP_ENDED
        return
      }
      showCodeStep(null)
      onLoggedIn()
    })
  })
  byId('mfa-cancel').addEventListener('click', () => showCodeStep(null))

  registerForm.addEventListener('submit', (event) => {
    event.preventDefault()
    void submitting(registerForm, byId('register-error'), async () => {
      const username = valueOf(registerForm, 'username')
      const password = (registerForm.elements.namedItem('password') as HTMLInputElement).value
      const displayName = valueOf(registerForm, 'displayName')
      await api.register({ username, email: valueOf(registerForm, 'email'), password, ...(displayName === '' ? {} : { displayName }) })
      // Registration issues no token: log straight in with what was just typed.
      await api.login(username, password)
      onLoggedIn()
    })
  })
}

/** Shows the login screen, with a notice saying why (session ended elsewhere, logged out). */
export function showAuthView(notice: string | null) {
  byId('chat-view').hidden = true
  byId('security-view').hidden = true
  byId('auth-view').hidden = false
  const box = byId('auth-notice')
  box.hidden = notice === null
  box.textContent = notice ?? ''
  byId<HTMLInputElement>('login-name').focus()
}
