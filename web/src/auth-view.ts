import type { ApiClient } from '@chat/client/api'
import { ApiError, NETWORK_ERROR } from '@chat/client/errors'
import { byId } from './dom'

/** Says what went wrong in words a person can act on; field details name the fields. */
export function describeError(error: unknown): string {
  if (!(error instanceof ApiError)) return 'Something went wrong. Please try again.'
  if (error.code === NETWORK_ERROR) return 'The server cannot be reached. Check your connection and try again.'
  if (error.code === 'TOO_MANY_ATTEMPTS' && error.retryAfterSeconds !== null) {
    return `Too many failed attempts. Try again in ${Math.ceil(error.retryAfterSeconds / 60)} minute(s).`
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

/** The login and registration forms; `onLoggedIn` runs once tokens are stored. */
export function setUpAuthView(api: ApiClient, onLoggedIn: () => void) {
  const loginForm = byId<HTMLFormElement>('login-form')
  const registerForm = byId<HTMLFormElement>('register-form')

  loginForm.addEventListener('submit', (event) => {
    event.preventDefault()
    void submitting(loginForm, byId('login-error'), async () => {
      await api.login(valueOf(loginForm, 'login'), (loginForm.elements.namedItem('password') as HTMLInputElement).value)
      onLoggedIn()
    })
  })

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
  byId('auth-view').hidden = false
  const box = byId('auth-notice')
  box.hidden = notice === null
  box.textContent = notice ?? ''
  byId<HTMLInputElement>('login-name').focus()
}
