import { describe, expect, test } from 'bun:test'
import { copyFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Page } from 'playwright-core'
import { TOTP } from 'otpauth'
import { createApiClient } from '@chat/client/api'
import { createMemoryTokenStore } from '@chat/client/tokens'
import { waitUntil } from '../../test/wait'
import { DESKTOP, logIn, PASSWORD, PHONE, register, screenshot, STEP_TIMEOUT_MS, useBrowser, waitForTexts, type Account } from './browser-kit'

const kit = useBrowser()
const DOCS_SCREENSHOT = resolve(import.meta.dir, '../../docs/security-page.png')
const SCREENSHOT_DIR = resolve(import.meta.dir, '../../test-artifacts/screenshots')

const STEP_MS = 30_000
/** The test types a code computed now: never let its 30 s step roll over before the server checks it. */
async function awayFromStepEdge() {
  await waitUntil(() => STEP_MS - (Date.now() % STEP_MS) > 5000, { message: 'the TOTP step has time left', timeoutMs: STEP_MS })
}
/** The code an authenticator app would show `offset` steps from now (the server accepts −1, 0 and +1). */
const appCode = (secret: string, offset = 0) => new TOTP({ secret, algorithm: 'SHA1', digits: 6, period: 30 }).generate({ timestamp: Date.now() + offset * STEP_MS })

/** A typed client logged in as `account`, as another device would be. */
async function otherDevice(account: Account) {
  const api = createApiClient({ baseUrl: kit.stack.url, tokens: createMemoryTokenStore() })
  await api.login(account.username, PASSWORD)
  return api
}

async function openSecurityPage(page: Page) {
  await page.getByRole('link', { name: 'Security' }).click()
  await page.waitForURL('**/security')
  await page.locator('#security-view').waitFor()
}

const sessionItems = (page: Page) => page.locator('#session-list li')

describe('the security page in Chromium', () => {
  test('lists the sessions, revokes one, and logs out all the others', async () => {
    const { page } = await kit.openApp(DESKTOP)
    const account = await register(page, 'sec')
    const phone = await otherDevice(account)
    await otherDevice(account)
    await otherDevice(account)
    await openSecurityPage(page)

    await waitUntil(async () => (await sessionItems(page).count()) === 4, 'four sessions are listed', STEP_TIMEOUT_MS)
    await expect(sessionItems(page).filter({ hasText: '(this session)' }).count()).resolves.toBe(1)
    const phoneSessionId = (await phone.listSessions()).find((session) => session.current)!.id
    await page.locator(`#session-list li[data-session-id="${phoneSessionId}"]`).getByRole('button', { name: /^Revoke/ }).click()
    await waitUntil(async () => (await sessionItems(page).count()) === 3, 'three sessions are listed', STEP_TIMEOUT_MS)
    await expect(phone.listSessions()).rejects.toMatchObject({ status: 401 })

    await page.getByRole('button', { name: 'Log out all other sessions' }).click()
    await waitUntil(async () => (await sessionItems(page).count()) === 1, 'only this session is listed', STEP_TIMEOUT_MS)
    await waitForTexts(page.locator('#security-notice'), ['Every other session was logged out.'])
    // Back to the chat, still logged in.
    await page.getByRole('link', { name: 'Back to chat' }).click()
    await waitForTexts(page.locator('#me-name'), [account.displayName])
  })

  test('changes the password, refusing a guessable one with the reason', async () => {
    const { page } = await kit.openApp(PHONE)
    const account = await register(page, 'pwd')
    await openSecurityPage(page)
    const form = page.locator('#password-form')
    await form.getByLabel('Current password').fill(PASSWORD)
    await form.getByLabel('New password').fill('monkey2024')
    await form.getByRole('button', { name: 'Change password' }).click()
    await waitUntil(async () => ((await page.locator('#password-error').textContent()) ?? '').includes('is too easy to guess'), 'the reason shows', STEP_TIMEOUT_MS)

    await form.getByLabel('Current password').fill(PASSWORD)
    await form.getByLabel('New password').fill('velvet orbit lantern quietly')
    await form.getByRole('button', { name: 'Change password' }).click()
    await waitForTexts(page.locator('#security-notice'), ['Your password was changed. Your other sessions were logged out.'])
    const api = createApiClient({ baseUrl: kit.stack.url, tokens: createMemoryTokenStore() })
    await expect(api.login(account.username, PASSWORD)).rejects.toMatchObject({ code: 'INVALID_CREDENTIALS' })
    await expect(api.login(account.username, 'velvet orbit lantern quietly')).resolves.toHaveProperty('accessToken')
  })

  test('turns two-factor on with a QR code, shows the recovery codes once, asks for a code at login, and turns it off with a recovery code', async () => {
    const { page } = await kit.openApp(DESKTOP)
    const account = await register(page, 'tfa')
    const otherTab = await otherDevice(account)
    await openSecurityPage(page)
    await waitForTexts(page.locator('#totp-status'), ['Two-factor authentication is off.'])

    await page.locator('#totp-start-password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Set up two-factor' }).click()
    await page.locator('#totp-enrol-form').waitFor()
    const secret = (await page.locator('#totp-secret').textContent()) ?? ''
    expect(secret).toMatch(/^[A-Z2-7]{32}$/)
    // The QR code was drawn: its canvas has a size and dark pixels.
    const drawn = await page.locator('#totp-qr').evaluate((canvas: HTMLCanvasElement) => {
      const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data
      let dark = 0
      for (let i = 0; i < pixels.length; i += 4) if (pixels[i] < 128) dark++
      return { width: canvas.width, dark }
    })
    expect(drawn.width).toBeGreaterThanOrEqual(150)
    expect(drawn.dark).toBeGreaterThan(1000)

    await awayFromStepEdge()
    const wrong = appCode(secret) === '000000' ? '111111' : '000000'
    await page.getByLabel('Code from the app', { exact: true }).fill(wrong)
    await page.getByRole('button', { name: 'Turn on two-factor' }).click()
    await waitUntil(async () => ((await page.locator('#totp-enrol-error').textContent()) ?? '').includes('not right'), 'the wrong code is refused', STEP_TIMEOUT_MS)

    await awayFromStepEdge()
    // Kept as typed: by the login below the step may have moved on, and a fresh appCode(secret, -1) would be a new, valid code.
    const enrolmentCode = appCode(secret, -1)
    await page.getByLabel('Code from the app', { exact: true }).fill(enrolmentCode)
    await page.getByRole('button', { name: 'Turn on two-factor' }).click()
    await page.locator('#recovery-box').waitFor()
    const recoveryCodes = await page.locator('#recovery-codes li').allTextContents()
    expect(recoveryCodes).toHaveLength(10)
    for (const code of recoveryCodes) expect(code).toMatch(/^[a-z2-7]{5}-[a-z2-7]{5}$/)
    await waitForTexts(page.locator('#totp-status'), ['Two-factor authentication is on.'])
    // The other session was opened without the second factor: it is gone.
    await waitUntil(async () => (await sessionItems(page).count()) === 1, 'only this session is listed', STEP_TIMEOUT_MS)
    await expect(otherTab.listSessions()).rejects.toMatchObject({ status: 401 })
    await screenshot(page, 'security-recovery-codes')

    await page.getByRole('button', { name: 'I have saved them' }).click()
    expect(await page.locator('#recovery-codes li').count()).toBe(0)
    await page.locator('#totp-disable-form').waitFor()

    // Log in again in a fresh tab: after the password, the code step.
    const second = await kit.openApp(DESKTOP)
    const form = second.page.locator('#login-form')
    await form.getByLabel('Username or email').fill(account.username)
    await form.getByLabel('Password').fill(PASSWORD)
    await form.getByRole('button', { name: 'Log in' }).click()
    await second.page.locator('#mfa-form').waitFor()
    expect(await second.page.locator('#login-form').isHidden()).toBe(true)
    await awayFromStepEdge()
    // The code that turned two-factor on is used up.
    await second.page.getByLabel('Authentication code').fill(enrolmentCode)
    await second.page.getByRole('button', { name: 'Verify' }).click()
    await waitUntil(async () => ((await second.page.locator('#mfa-error').textContent()) ?? '').includes('already used'), 'the used code is refused', STEP_TIMEOUT_MS)
    await second.page.getByLabel('Authentication code').fill(appCode(secret, 0))
    await second.page.getByRole('button', { name: 'Verify' }).click()
    await waitForTexts(second.page.locator('#me-name'), [account.displayName])

    // Turn it off from the second tab with a recovery code.
    await openSecurityPage(second.page)
    await waitForTexts(second.page.locator('#totp-status'), ['Two-factor authentication is on.'])
    await second.page.getByLabel('Code from the app, or a recovery code').fill(recoveryCodes[0])
    await second.page.getByRole('button', { name: 'Turn off two-factor' }).click()
    await waitForTexts(second.page.locator('#totp-status'), ['Two-factor authentication is off.'])
    // And the password alone logs in again.
    const third = await kit.openApp(PHONE)
    await logIn(third.page, account)
  })

  test('a recovery code finishes the login; too many wrong codes send the user back to the password', async () => {
    const { page } = await kit.openApp(DESKTOP)
    const account = await register(page, 'rec')
    const api = await otherDevice(account)
    const { secret } = await api.startTotpEnrolment(PASSWORD)
    await awayFromStepEdge()
    const { recoveryCodes } = await api.confirmTotpEnrolment(appCode(secret, 0))

    const { page: tab } = await kit.openApp(PHONE)
    const typePassword = async () => {
      const form = tab.locator('#login-form')
      await form.getByLabel('Username or email').fill(account.username)
      await form.getByLabel('Password').fill(PASSWORD)
      await form.getByRole('button', { name: 'Log in' }).click()
      await tab.locator('#mfa-form').waitFor()
    }
    await typePassword()
    for (let i = 0; i < 5; i++) {
      await tab.getByLabel('Authentication code').fill('zzzzz-zzzzz')
      await tab.getByRole('button', { name: 'Verify' }).click()
      await waitUntil(async () => ((await tab.locator('#mfa-error').textContent()) ?? '') !== '', 'the wrong code is refused', STEP_TIMEOUT_MS)
    }
    await tab.getByLabel('Authentication code').fill(recoveryCodes[1])
    await tab.getByRole('button', { name: 'Verify' }).click()
    await tab.locator('#login-form').waitFor()
    await waitUntil(async () => ((await tab.locator('#login-error').textContent()) ?? '').includes('log in again'), 'the code step has ended', STEP_TIMEOUT_MS)

    await typePassword()
    await tab.getByLabel('Authentication code').fill(recoveryCodes[1].toUpperCase())
    await tab.getByRole('button', { name: 'Verify' }).click()
    await waitForTexts(tab.locator('#me-name'), [account.displayName])
  })

  test('the security page as the README shows it', async () => {
    const { page } = await kit.openApp({ width: 1280, height: 1040 })
    const account = await register(page, 'ada')
    await otherDevice(account)
    await openSecurityPage(page)
    await waitUntil(async () => (await sessionItems(page).count()) === 2, 'two sessions are listed', STEP_TIMEOUT_MS)
    await page.locator('#totp-start-password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Set up two-factor' }).click()
    await page.locator('#totp-enrol-form').waitFor()
    await screenshot(page, 'security-page')
    if (process.env.UPDATE_DOCS_SCREENSHOTS === '1') await copyFile(join(SCREENSHOT_DIR, 'security-page.png'), DOCS_SCREENSHOT)
  })
})
