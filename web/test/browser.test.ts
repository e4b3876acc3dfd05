import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Locator, type Page, type WebSocket as PageSocket } from 'playwright-core'
import { createApiClient } from '@chat/client/api'
import { createChatSocket } from '@chat/client/socket'
import { createMemoryTokenStore } from '@chat/client/tokens'
import { range } from '../../test/chat-helpers'
import { startTestStack, type TestStack } from '../../test/harness'
import { uniqueName } from '../../test/client'
import { expectNever, waitUntil } from '../../test/wait'
import { wsUrl } from '../../test/ws-client'

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
const DESKTOP = { width: 1280, height: 800 }
/** An iPhone SE/mini-sized phone: the narrowest screen the layout is made for. */
const PHONE = { width: 375, height: 740 }
/** Longest wait for anything on a page; every step normally takes milliseconds. */
const STEP_TIMEOUT_MS = 10_000
const PASSWORD = 'correct horse battery staple'
/** The web client's history page size (room-pane.ts). */
const HISTORY_PAGE_SIZE = 50
/** Messages an offline page must not show would have arrived well within this. */
const QUIET_MS = 500

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
  stack = await startTestStack({ chat: 2 })
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

async function openApp(viewport: { width: number; height: number }): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport })
  context.setDefaultTimeout(STEP_TIMEOUT_MS)
  context.on('weberror', (error) => pageErrors.push(String(error.error())))
  contexts.push(context)
  const page = await context.newPage()
  await page.goto(stack.url + '/')
  await page.locator('#auth-view').waitFor()
  return { context, page }
}

const screenshot = (page: Page, name: string) => page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`) })

async function waitForTexts(locator: Locator, expected: string[]) {
  let last: string[] = []
  await waitUntil(async () => {
    last = await locator.allTextContents()
    return JSON.stringify(last) === JSON.stringify(expected)
  }, `the texts are ${JSON.stringify(expected)}`, STEP_TIMEOUT_MS).catch((error: Error) => {
    throw new Error(`${error.message}; last seen ${JSON.stringify(last)}`)
  })
}

type Account = { username: string; displayName: string }

/** Fills in the registration form (found by its labels) and waits until the chat shows. */
async function register(page: Page, prefix: string): Promise<Account> {
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

async function logIn(page: Page, account: Account) {
  const form = page.locator('#login-form')
  await form.getByLabel('Username or email').fill(account.username)
  await form.getByLabel('Password').fill(PASSWORD)
  await form.getByRole('button', { name: 'Log in' }).click()
  await waitForTexts(page.locator('#me-name'), [account.displayName])
}

async function createRoom(page: Page, name: string) {
  await page.getByLabel('Room name', { exact: true }).fill(name)
  await page.locator('#create-room-form').getByRole('button', { name: 'Create' }).click()
  await waitForTexts(page.locator('#room-title'), [name])
}

async function findAndJoinRoom(page: Page, name: string) {
  await page.getByLabel('Room name starts with').fill(name)
  await page.locator('#find-rooms-form').getByRole('button', { name: 'Search' }).click()
  await page.getByRole('button', { name: `Join ${name}` }).click()
  await waitForTexts(page.locator('#room-title'), [name])
}

/** Types into the composer and presses Enter, as a person would. */
async function say(page: Page, text: string) {
  const composer = page.locator('#composer-input')
  await composer.click()
  await composer.pressSequentially(text)
  await composer.press('Enter')
}

const bodies = (page: Page) => page.locator('#message-list .message:not(.pending) .body')
const roomButton = (page: Page, name: string) => page.locator('#my-rooms').getByRole('button', { name })

describe('web client in Chromium', () => {
  test('two users register, create and join a room, and chat both ways live with typing and presence', async () => {
    const ada = await openApp(DESKTOP)
    const bob = await openApp(PHONE)
    await screenshot(ada.page, 'login-desktop')
    await screenshot(bob.page, 'login-phone')
    const adaAccount = await register(ada.page, 'ada')
    const bobAccount = await register(bob.page, 'bob')

    const room = `Lobby ${uniqueName('r').slice(-8)}`
    await createRoom(ada.page, room)
    await findAndJoinRoom(bob.page, room)
    await waitForTexts(ada.page.locator('#room-presence .name'), [bobAccount.displayName])

    await say(ada.page, 'Hello Bob')
    await waitForTexts(bodies(bob.page), ['Hello Bob'])
    // Shift+Enter is a new line inside the message, Enter sends it.
    const composer = bob.page.locator('#composer-input')
    await composer.pressSequentially('Hi Ada')
    await waitForTexts(ada.page.locator('#typing-indicator'), [`${bobAccount.displayName} is typing…`])
    await composer.press('Shift+Enter')
    await composer.pressSequentially('two lines')
    await composer.press('Enter')
    await waitForTexts(bodies(ada.page), ['Hello Bob', 'Hi Ada\ntwo lines'])
    await waitForTexts(bodies(bob.page), ['Hello Bob', 'Hi Ada\ntwo lines'])
    await waitForTexts(ada.page.locator('#message-list .author'), [adaAccount.displayName, bobAccount.displayName])
    // The message arrived for screen readers too.
    await waitForTexts(ada.page.locator('#announcer'), [`${bobAccount.displayName}: Hi Ada\ntwo lines`])
    await screenshot(ada.page, 'room-desktop')
    await screenshot(bob.page, 'room-phone')
  })

  test('messages in a room that is not open raise an unread badge, and a direct message reaches a user found by search', async () => {
    const ada = await openApp(DESKTOP)
    const bob = await openApp(PHONE)
    const adaAccount = await register(ada.page, 'ada')
    const bobAccount = await register(bob.page, 'bob')
    const room = `Book club ${uniqueName('r').slice(-8)}`
    await createRoom(ada.page, room)
    await findAndJoinRoom(bob.page, room)

    // On a phone, going back to the list closes the room; what arrives there is unread.
    await bob.page.getByRole('button', { name: 'Rooms' }).click()
    await bob.page.locator('#sidebar').waitFor()
    await say(ada.page, 'first')
    await say(ada.page, 'second')
    await waitForTexts(roomButton(bob.page, room).locator('.badge'), ['2 unread messages'])
    await screenshot(bob.page, 'rooms-unread-phone')
    await roomButton(bob.page, room).click()
    await waitForTexts(bodies(bob.page), ['first', 'second'])
    expect(await roomButton(bob.page, room).locator('.badge').isHidden()).toBe(true)

    // Ada finds Bob by username and writes to him directly.
    await ada.page.getByLabel('Username or name starts with').fill(bobAccount.username)
    await ada.page.locator('#find-people-form').getByRole('button', { name: 'Search' }).click()
    await ada.page.getByRole('button', { name: `Message ${bobAccount.displayName}` }).click()
    await waitForTexts(ada.page.locator('#room-title'), [bobAccount.displayName])
    await say(ada.page, 'just between us')
    await waitForTexts(bodies(ada.page), ['just between us'])

    // A reload keeps the tab's session (sessionStorage) and lists the new direct room, unread.
    await bob.page.reload()
    await waitForTexts(bob.page.locator('#me-name'), [bobAccount.displayName])
    await waitForTexts(roomButton(bob.page, adaAccount.displayName).locator('.badge'), ['1 unread message'])
    await roomButton(bob.page, adaAccount.displayName).click()
    await waitForTexts(bodies(bob.page), ['just between us'])
    await waitForTexts(bob.page.locator('#room-presence'), ['Online'])
  })

  test('a user who goes offline and comes back sees the messages sent meanwhile', async () => {
    const ada = await openApp(DESKTOP)
    const bob = await openApp(PHONE)
    await register(ada.page, 'ada')
    await register(bob.page, 'bob')
    const room = `Standup ${uniqueName('r').slice(-8)}`
    await createRoom(ada.page, room)
    await findAndJoinRoom(bob.page, room)
    await say(ada.page, 'before the outage')
    await waitForTexts(bodies(bob.page), ['before the outage'])

    await bob.context.setOffline(true)
    await waitForTexts(bob.page.locator('#connection-status'), ['You are offline. Reconnecting when the network is back…'])
    for (const text of ['missed one', 'missed two', 'missed three']) await say(ada.page, text)
    await waitForTexts(bodies(ada.page), ['before the outage', 'missed one', 'missed two', 'missed three'])
    await expectNever(async () => (await bodies(bob.page).count()) > 1, { message: 'the offline page showing messages', forMs: QUIET_MS })
    expect(await bodies(bob.page).allTextContents()).toEqual(['before the outage'])
    await screenshot(bob.page, 'offline-phone')

    await bob.context.setOffline(false)
    await waitForTexts(bodies(bob.page), ['before the outage', 'missed one', 'missed two', 'missed three'])
    await bob.page.locator('#connection-status').waitFor({ state: 'hidden' })
    await say(bob.page, 'back again')
    await waitForTexts(bodies(ada.page), ['before the outage', 'missed one', 'missed two', 'missed three', 'back again'])
  })

  test('history shows the newest page first; older pages load on scrolling up and with the button', async () => {
    // The conversation is written through the typed client, as another program would.
    const username = uniqueName('dee')
    const api = createApiClient({ baseUrl: stack.url, tokens: createMemoryTokenStore() })
    await api.register({ username, email: `${username}@example.com`, password: PASSWORD, displayName: 'Dee' })
    await api.login(username, PASSWORD)
    const room = await api.createRoom({ name: `Archive ${uniqueName('r').slice(-8)}` })
    const socket = createChatSocket({ url: wsUrl(stack.url), getToken: api.getAccessToken })
    const total = HISTORY_PAGE_SIZE * 2 + 20
    // One at a time: the server does not keep the order of one socket's unacknowledged sends.
    for (let i = 1; i <= total; i++) await socket.send(room.id, `note ${i}`)
    socket.close()

    const { page } = await openApp(DESKTOP)
    await logIn(page, { username, displayName: 'Dee' })
    await roomButton(page, room.name).click()
    const notes = (from: number, to: number) => range(from, to).map((n) => `note ${n}`)
    await waitForTexts(bodies(page), notes(total - HISTORY_PAGE_SIZE + 1, total))
    await page.locator('#message-scroller').evaluate((scroller) => scroller.scrollTo(0, 0))
    await waitForTexts(bodies(page), notes(total - 2 * HISTORY_PAGE_SIZE + 1, total))
    // Keyboard users have the button; after the first message there is nothing older to load.
    await page.getByRole('button', { name: 'Load older messages' }).press('Enter')
    await waitForTexts(bodies(page), notes(1, total))
    await page.locator('#load-older').waitFor({ state: 'hidden' })
  })

  test('"Log out everywhere" in one tab closes the socket of another tab, which shows it is logged out', async () => {
    const first = await openApp(DESKTOP)
    const sockets: PageSocket[] = []
    first.page.on('websocket', (socket) => sockets.push(socket))
    const account = await register(first.page, 'cy')
    await createRoom(first.page, `Notes ${uniqueName('r').slice(-8)}`)
    await waitUntil(() => sockets.length > 0, 'the first tab has a socket', STEP_TIMEOUT_MS)

    // Each tab keeps its own session (sessionStorage), so the second tab logs in by itself.
    const second = await first.context.newPage()
    await second.goto(stack.url + '/')
    await logIn(second, account)
    await second.getByRole('button', { name: 'Log out everywhere' }).click()
    await waitForTexts(second.locator('#auth-notice'), ['You are logged out on every device.'])

    await waitForTexts(first.page.locator('#auth-notice'), ['You were logged out: this session was ended from another tab or device.'])
    expect(await first.page.locator('#chat-view').isHidden()).toBe(true)
    expect(sockets.every((socket) => socket.isClosed())).toBe(true)
    await screenshot(first.page, 'logged-out-elsewhere-desktop')

    // Logging in again works, and "Log out" ends just that session.
    await logIn(first.page, account)
    await first.page.getByRole('button', { name: 'Log out', exact: true }).click()
    await waitForTexts(first.page.locator('#auth-notice'), ['You are logged out.'])
  })
})
