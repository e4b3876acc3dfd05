import type { ApiClient } from '@chat/client/api'
import QRCode from 'qrcode'
import { describeError } from './auth-view'
import { byId, el } from './dom'

type Session = Awaited<ReturnType<ApiClient['listSessions']>>[number]

/** Short and readable: "Firefox on Linux" is more than a browser usually needs to say, the raw string is the fallback. */
function describeDevice(session: Session): string {
  const agent = session.userAgent ?? ''
  const browser = /Edg\//.test(agent) ? 'Edge' : /Chrome\//.test(agent) ? 'Chrome' : /Firefox\//.test(agent) ? 'Firefox' : /Safari\//.test(agent) ? 'Safari' : null
  const system = /Android/.test(agent) ? 'Android' : /iPhone|iPad/.test(agent) ? 'iOS' : /Windows/.test(agent) ? 'Windows' : /Mac OS X/.test(agent) ? 'macOS' : /Linux/.test(agent) ? 'Linux' : null
  if (browser !== null) return system === null ? browser : `${browser} on ${system}`
  return agent === '' ? 'Unknown device' : agent.slice(0, 80)
}

const when = (iso: string) => new Date(iso).toLocaleString()

function setNotice(text: string | null) {
  const box = byId('security-notice')
  box.hidden = text === null
  box.textContent = text ?? ''
}

/** Runs `work` with the form's submit button disabled; its error (if any) goes into `errorBox`. */
async function guarded(button: HTMLButtonElement, errorBox: HTMLElement, work: () => Promise<void>) {
  button.disabled = true
  errorBox.textContent = ''
  try {
    await work()
  } catch (error) {
    errorBox.textContent = describeError(error)
  } finally {
    button.disabled = false
  }
}

const submitOf = (form: HTMLFormElement) => form.querySelector('button[type=submit]') as HTMLButtonElement
const inputOf = (form: HTMLFormElement, name: string) => form.elements.namedItem(name) as HTMLInputElement

/**
 * The session list: each other session can be revoked, or all of them at once. The
 * current one is marked and cannot be revoked here (that is "Log out").
 */
function createSessionsPanel(api: ApiClient) {
  const list = byId<HTMLUListElement>('session-list')
  const errorBox = byId('sessions-error')

  async function refresh() {
    errorBox.textContent = ''
    try {
      const sessions = await api.listSessions()
      list.replaceChildren(...sessions.map(sessionItem))
    } catch (error) {
      errorBox.textContent = describeError(error)
    }
  }

  function sessionItem(session: Session): HTMLLIElement {
    const text = el('div', { className: 'session-text' }, [
      el('strong', { text: describeDevice(session) }),
      ...(session.current ? [' ', el('span', { className: 'current', text: '(this session)' })] : []),
      el('span', { className: 'session-meta', text: `${session.ip ?? 'unknown address'} · since ${when(session.createdAt)} · last active ${when(session.lastUsedAt)}` }),
    ])
    const item = el('li', { attrs: { 'data-session-id': session.id } }, [text])
    if (!session.current) {
      const revoke = el('button', { text: 'Revoke', attrs: { type: 'button', 'aria-label': `Revoke ${describeDevice(session)} since ${when(session.createdAt)}` } })
      revoke.addEventListener('click', () => void guarded(revoke, errorBox, async () => {
        await api.revokeSession(session.id)
        await refresh()
      }))
      item.append(revoke)
    }
    return item
  }

  const logoutOthers = byId<HTMLButtonElement>('logout-others-button')
  logoutOthers.addEventListener('click', () => void guarded(logoutOthers, errorBox, async () => {
    await api.logout('others')
    setNotice('Every other session was logged out.')
    await refresh()
  }))
  return { refresh }
}

function setUpPasswordForm(api: ApiClient, onChanged: () => Promise<void>) {
  const form = byId<HTMLFormElement>('password-form')
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    void guarded(submitOf(form), byId('password-error'), async () => {
      await api.changePassword(inputOf(form, 'currentPassword').value, inputOf(form, 'newPassword').value)
      form.reset()
      setNotice('Your password was changed. Your other sessions were logged out.')
      await onChanged()
    })
  })
}

/**
 * Two-factor: off → "Set up" shows the QR code and key, a code turns it on and shows the
 * recovery codes once; on → a code (or a recovery code) turns it off.
 */
function createTotpPanel(api: ApiClient, onEnabled: () => Promise<void>) {
  const status = byId('totp-status')
  const startForm = byId<HTMLFormElement>('totp-start-form')
  const enrolForm = byId<HTMLFormElement>('totp-enrol-form')
  const disableForm = byId<HTMLFormElement>('totp-disable-form')
  const recoveryBox = byId('recovery-box')

  function show(state: 'off' | 'enrolling' | 'recovery' | 'on') {
    status.textContent = state === 'on' || state === 'recovery' ? 'Two-factor authentication is on.' : 'Two-factor authentication is off.'
    startForm.hidden = state !== 'off'
    enrolForm.hidden = state !== 'enrolling'
    recoveryBox.hidden = state !== 'recovery'
    disableForm.hidden = state !== 'on'
  }

  async function refresh() {
    try {
      show((await api.getMfaStatus()).totp ? 'on' : 'off')
    } catch (error) {
      status.textContent = describeError(error)
    }
  }

  startForm.addEventListener('submit', (event) => {
    event.preventDefault()
    void startEnrolment()
  })

  // The password is asked again: an access token alone must not put the account behind another authenticator.
  const startEnrolment = () => guarded(submitOf(startForm), byId('totp-start-error'), async () => {
    const password = inputOf(startForm, 'currentPassword')
    const { secret, otpauthUrl } = await api.startTotpEnrolment(password.value)
    password.value = ''
    byId('totp-secret').textContent = secret
    await QRCode.toCanvas(byId<HTMLCanvasElement>('totp-qr'), otpauthUrl, { width: 200, margin: 2, errorCorrectionLevel: 'M' })
    show('enrolling')
    inputOf(enrolForm, 'code').focus()
  })

  enrolForm.addEventListener('submit', (event) => {
    event.preventDefault()
    void guarded(submitOf(enrolForm), byId('totp-enrol-error'), async () => {
      const { recoveryCodes } = await api.confirmTotpEnrolment(inputOf(enrolForm, 'code').value.trim())
      enrolForm.reset()
      byId('totp-secret').textContent = ''
      byId('recovery-codes').replaceChildren(...recoveryCodes.map((code) => el('li', { text: code })))
      show('recovery')
      setNotice('Two-factor authentication is on. Your other sessions were logged out.')
      await onEnabled()
    })
  })

  byId('recovery-done').addEventListener('click', () => {
    byId('recovery-codes').replaceChildren()
    show('on')
  })

  disableForm.addEventListener('submit', (event) => {
    event.preventDefault()
    void guarded(submitOf(disableForm), byId('totp-disable-error'), async () => {
      await api.disableTotp(inputOf(disableForm, 'code').value.trim())
      disableForm.reset()
      setNotice('Two-factor authentication is off.')
      show('off')
    })
  })

  return { refresh }
}

/** Wires the page once; `showSecurityView` fills it each time it is shown. */
export function setUpSecurityView(api: ApiClient) {
  const sessions = createSessionsPanel(api)
  const totp = createTotpPanel(api, sessions.refresh)
  setUpPasswordForm(api, sessions.refresh)
  return {
    async show() {
      byId('auth-view').hidden = true
      byId('chat-view').hidden = true
      byId('security-view').hidden = false
      document.title = 'Security · Chat'
      setNotice(null)
      await Promise.all([sessions.refresh(), totp.refresh()])
      byId('security-heading').focus()
    },
  }
}
