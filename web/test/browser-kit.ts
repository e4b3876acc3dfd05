import { afterAll, afterEach, beforeAll, expect } from 'bun:test'
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core'
import { startTestStack, type TestStack, type TestStackOptions } from '../../test/harness'
import { uniqueName } from '../../test/client'
import { waitUntil } from '../../test/wait'

/**
 * What the browser tests share: one test stack (which builds the web client) and one
 * Chromium per test file, pages for people, and the steps a person takes (register, log
 * in, create and join rooms, say something), each found by its label or role.
 */

/** Debian's Chromium; `npm test` installs it. */
const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
/** Headless in a container, with nothing reaching out to the internet (this machine has none). */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
const SCREENSHOT_DIR = resolve(import.meta.dir, '../../test-artifacts/screenshots')
export const DESKTOP = { width: 1280, height: 800 }
/** An iPhone SE/mini-sized phone: the narrowest screen the layout is made for. */
export const PHONE = { width: 375, height: 740 }
/** Longest wait for anything on a page; every step normally takes milliseconds. */
export const STEP_TIMEOUT_MS = 10_000
export const PASSWORD = 'correct horse battery staple'

export type Account = { username: string; displayName: string }
export type BrowserKit = {
  readonly stack: TestStack
  /** Opens `path` (default `/`) and waits for `shown` (default the login view). */
  openApp(viewport: { width: number; height: number }, path?: string, shown?: string): Promise<{ context: BrowserContext; page: Page }>
}

/**
 * Registers the file's hooks: the stack and Chromium start before its tests, and every page
 * error fails the test it happened in. `stackEnv` is read when the stack starts (after the
 * file's own earlier `beforeAll`, e.g. one starting an SMTP server).
 */
export function useBrowser(options: { stackEnv?: () => TestStackOptions['env'] } = {}): BrowserKit {
  let stack: TestStack
  let browser: Browser
  const contexts: BrowserContext[] = []
  /** Uncaught errors of any page; a test that ends with some has failed, whatever it checked. */
  let pageErrors: string[] = []

  beforeAll(async () => {
    if (!existsSync(CHROMIUM_PATH)) {
      throw new Error(`The browser tests need Chromium at ${CHROMIUM_PATH}: install it with \`apt-get install chromium\` (npm test does), or set CHROMIUM_PATH.`)
    }
    await mkdir(SCREENSHOT_DIR, { recursive: true })
    // The stack builds the web client (scripts/build-web.ts) into a WEB_ROOT of its own.
    stack = await startTestStack({ chat: 2, env: options.stackEnv?.() })
    const page = await fetch(stack.url + '/', { headers: { accept: 'text/html' } })
    const html = await page.text()
    if (!html.includes('id="chat-view"')) {
      throw new Error(`Caddy does not serve the web client at / (status ${page.status}): did the test stack build it into its WEB_ROOT?`)
    }
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS })
  })

  afterEach(() => {
    const errors = pageErrors
    pageErrors = []
    expect(errors).toEqual([])
  })

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {})
    await browser?.close()
    await stack?.stop()
  })

  return {
    get stack() {
      return stack
    },
    async openApp(viewport, path = '/', shown = '#auth-view') {
      const context = await browser.newContext({ viewport })
      context.setDefaultTimeout(STEP_TIMEOUT_MS)
      context.on('weberror', (error) => pageErrors.push(String(error.error())))
      contexts.push(context)
      const page = await context.newPage()
      await page.goto(stack.url + path)
      await page.locator(shown).waitFor()
      return { context, page }
    },
  }
}

export const screenshot = (page: Page, name: string) => page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`) })

export async function waitForTexts(locator: Locator, expected: string[]) {
  let last: string[] = []
  await waitUntil(async () => {
    last = await locator.allTextContents()
    return JSON.stringify(last) === JSON.stringify(expected)
  }, `the texts are ${JSON.stringify(expected)}`, STEP_TIMEOUT_MS).catch((error: Error) => {
    throw new Error(`${error.message}; last seen ${JSON.stringify(last)}`)
  })
}

/** Fills in the registration form (found by its labels) and waits until the chat shows. */
export async function register(page: Page, prefix: string): Promise<Account> {
  const username = uniqueName(prefix)
  const displayName = `${prefix[0].toUpperCase()}${prefix.slice(1)} ${username.slice(-4)}`
  const form = page.locator('#register-form')
  await form.getByLabel('Username').fill(username)
  await form.getByLabel('Email').fill(`${username}@example.com`)
  await form.getByLabel('Display name').fill(displayName)
  await form.getByLabel('Password').fill(PASSWORD)
  await form.getByRole('button', { name: 'Create account' }).click()
  await page.locator('#chat-view').waitFor()
  await waitForTexts(page.locator('#me-name'), [displayName])
  return { username, displayName }
}

export async function logIn(page: Page, account: Account) {
  const form = page.locator('#login-form')
  await form.getByLabel('Username or email').fill(account.username)
  await form.getByLabel('Password').fill(PASSWORD)
  await form.getByRole('button', { name: 'Log in' }).click()
  await waitForTexts(page.locator('#me-name'), [account.displayName])
}

export async function createRoom(page: Page, name: string, options: { private?: boolean } = {}) {
  await page.getByLabel('Room name', { exact: true }).fill(name)
  if (options.private === true) await page.getByLabel('Private').check()
  await page.locator('#create-room-form').getByRole('button', { name: 'Create' }).click()
  await waitForTexts(page.locator('#room-title'), [name])
}

export async function findAndJoinRoom(page: Page, name: string) {
  await page.getByLabel('Room name starts with').fill(name)
  await page.locator('#find-rooms-form').getByRole('button', { name: 'Search' }).click()
  await page.getByRole('button', { name: `Join ${name}` }).click()
  await waitForTexts(page.locator('#room-title'), [name])
}

/** Types into the composer and presses Enter, as a person would. */
export async function say(page: Page, text: string) {
  const composer = page.locator('#composer-input')
  await composer.click()
  await composer.pressSequentially(text)
  await composer.press('Enter')
}

export const bodies = (page: Page) => page.locator('#message-list .message:not(.pending) .body')
export const roomButton = (page: Page, name: string) => page.locator('#my-rooms').getByRole('button', { name })
/** A unique room name with a readable prefix. */
export const roomName = (prefix: string) => `${prefix} ${uniqueName('r').slice(-8)}`

export const messageItem = (page: Page, text: string) => page.locator('#message-list .message:not(.pending)', { hasText: text })
export const memberRow = (page: Page, name: string) => page.locator('#member-list li', { hasText: name })

export async function openRoomInfo(page: Page) {
  await page.getByRole('button', { name: 'Room info' }).click()
  await page.locator('#room-info').waitFor()
}

/** Two people in one public room, Ada (desktop) its owner and Bob (phone) a member. */
export async function twoInARoom(kit: BrowserKit, prefix: string) {
  const ada = await kit.openApp(DESKTOP)
  const bob = await kit.openApp(PHONE)
  const adaAccount = await register(ada.page, 'ada')
  const bobAccount = await register(bob.page, 'bob')
  const room = roomName(prefix)
  await createRoom(ada.page, room)
  await findAndJoinRoom(bob.page, room)
  return { ada: { ...ada, account: adaAccount }, bob: { ...bob, account: bobAccount }, room }
}
