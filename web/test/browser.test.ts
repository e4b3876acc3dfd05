import { describe, expect, test } from 'bun:test'
import { type WebSocket as PageSocket } from 'playwright-core'
import { createApiClient } from '@chat/client/api'
import { createChatSocket } from '@chat/client/socket'
import { createMemoryTokenStore } from '@chat/client/tokens'
import { range } from '../../test/chat-helpers'
import { uniqueName } from '../../test/client'
import { expectNever, waitUntil } from '../../test/wait'
import { wsUrl } from '../../test/ws-client'
import { bodies, createRoom, DESKTOP, findAndJoinRoom, logIn, PASSWORD, PHONE, register, roomButton, say, screenshot, STEP_TIMEOUT_MS, useBrowser, waitForTexts } from './browser-kit'

/** The web client's history page size (room-pane.ts). */
const HISTORY_PAGE_SIZE = 50
/** Messages an offline page must not show would have arrived well within this. */
const QUIET_MS = 500

const kit = useBrowser()
const openApp = (viewport: { width: number; height: number }) => kit.openApp(viewport)

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
    // Display names are anyone's to choose: the unique username shows on hover.
    expect(await ada.page.locator('#message-list .author').last().getAttribute('title')).toBe(`@${bobAccount.username}`)
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
    const api = createApiClient({ baseUrl: kit.stack.url, tokens: createMemoryTokenStore() })
    await api.register({ username, email: `${username}@example.com`, password: PASSWORD, displayName: 'Dee' })
    await api.login(username, PASSWORD)
    const room = await api.createRoom({ name: `Archive ${uniqueName('r').slice(-8)}` })
    const socket = createChatSocket({ url: wsUrl(kit.stack.url), getToken: api.getAccessToken })
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
    await second.goto(kit.stack.url + '/')
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
