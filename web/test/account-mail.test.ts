import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { register as registerByApi } from '../../test/client'
import { startTestSmtp, type TestSmtp } from '../../test/smtp'
import { DESKTOP, PASSWORD, PHONE, register, screenshot, useBrowser, waitForTexts } from './browser-kit'

// The mailed links end to end: Chromium through Caddy, the mail read from a real SMTP server.

let smtp: TestSmtp
beforeAll(async () => {
  smtp = await startTestSmtp()
})
const kit = useBrowser({ stackEnv: () => ({ SMTP_URL: smtp.url, MAIL_POLL_INTERVAL_MS: '200' }) })
afterAll(() => smtp?.stop())

/** The link of a mail as it is written in it (PUBLIC_URL is the stack's Caddy). */
const linkIn = (text: string, page: string) => {
  const link = new RegExp(`https?://\\S+/${page}\\?token=[A-Za-z0-9_-]+`).exec(text)
  if (link === null) throw new Error(`no /${page} link in ${JSON.stringify(text)}`)
  return link[0]
}

describe('mailed links in the web client', () => {
  test('a new user sees a banner until the email is confirmed, can have the link sent again, and opening it confirms the address', async () => {
    const { page } = await kit.openApp(PHONE)
    const account = await register(page, 'vera')
    const email = `${account.username}@example.com`
    const banner = page.locator('#verify-banner')
    await banner.waitFor()
    expect(await page.locator('#verify-banner-text').textContent()).toContain(email)
    await smtp.waitForMail(email)

    // On a phone the banner wraps inside the screen: the page does not scroll sideways.
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true)
    await screenshot(page, 'verify-banner-phone')
    await banner.getByRole('button', { name: 'Send the link again' }).click()
    await waitForTexts(page.locator('#verify-banner-text'), [`A new link is on its way to ${email}.`])
    const mail = await smtp.waitForMail(email, { count: 2 })

    await page.goto(linkIn(mail.text, 'verify-email'))
    await waitForTexts(page.locator('#verify-result'), ['Your email address is confirmed. Thank you!'])
    // The token left the address bar at once.
    expect(new URL(page.url()).pathname + new URL(page.url()).search).toBe('/')
    await screenshot(page, 'verify-email')
    await page.getByRole('link', { name: 'Continue to the chat' }).click()
    await waitForTexts(page.locator('#me-name'), [account.displayName])
    await page.locator('#verify-banner').waitFor({ state: 'hidden' })

    // The same link a second time says it no longer works.
    await page.goto(linkIn(mail.text, 'verify-email'))
    await waitForTexts(page.locator('#verify-result'), ['This link is invalid, expired or already used. Log in to have a new one sent.'])
  })

  test('"Forgot password?" mails a link whose page sets a new password, and the user logs in with it', async () => {
    const account = await registerByApi(kit.stack.url, { password: PASSWORD })
    const { page } = await kit.openApp(DESKTOP)
    await page.getByRole('button', { name: 'Forgot password?' }).click()
    const form = page.locator('#forgot-form')
    await form.getByLabel('Email').fill(account.email)
    await form.getByRole('button', { name: 'Send the link' }).click()
    await waitForTexts(page.locator('#forgot-sent'), [`If an account has the address ${account.email}, a mail with a link is on its way. The link works for 30 minutes.`])
    const mail = await smtp.waitForMail(account.email, { subject: 'Reset your password' })

    await page.goto(linkIn(mail.text, 'reset-password'))
    const reset = page.locator('#reset-form')
    await reset.waitFor()
    expect(new URL(page.url()).search).toBe('')
    await reset.getByLabel('New password').fill('password123')
    await reset.getByRole('button', { name: 'Set the new password' }).click()
    await page.locator('#reset-error').getByText('too weak').waitFor()
    await screenshot(page, 'reset-password')
    await reset.getByLabel('New password').fill('a brand new passphrase')
    await reset.getByRole('button', { name: 'Set the new password' }).click()
    await waitForTexts(page.locator('#auth-notice'), ['Your password was changed and every device was logged out. Log in with the new password.'])

    const login = page.locator('#login-form')
    await login.getByLabel('Username or email').fill(account.username)
    await login.getByLabel('Password').fill('a brand new passphrase')
    await login.getByRole('button', { name: 'Log in' }).click()
    await waitForTexts(page.locator('#me-name'), [account.username])
    await smtp.waitForMail(account.email, { subject: 'Your password was changed' })
  })
})
