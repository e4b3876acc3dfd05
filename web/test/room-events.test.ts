import { describe, expect, test } from 'bun:test'
import { createApiClient } from '@chat/client/api'
import { createChatSocket } from '@chat/client/socket'
import { createMemoryTokenStore } from '@chat/client/tokens'
import { uniqueName } from '../../test/client'
import { waitUntil } from '../../test/wait'
import { wsUrl } from '../../test/ws-client'
import {
  bodies,
  createRoom,
  DESKTOP,
  findAndJoinRoom,
  logIn,
  memberRow,
  messageItem,
  openRoomInfo,
  PASSWORD,
  PHONE,
  register,
  roomButton,
  roomName,
  say,
  screenshot,
  STEP_TIMEOUT_MS,
  twoInARoom,
  useBrowser,
  waitForTexts,
} from './browser-kit'

/**
 * The room events of issue 9 in the web client, two (or three) people in Chromium: edits,
 * deletions, reactions, replies, read receipts, members and moderation, room settings,
 * invite links and message search.
 */
const kit = useBrowser()

describe('room events in the web client', () => {
  test('a sender edits and deletes their own message, and the other member sees both live', async () => {
    const { ada, bob, room } = await twoInARoom(kit, 'Edits')
    await say(ada.page, 'helo wrld')
    await waitForTexts(bodies(bob.page), ['helo wrld'])
    // Only one's own messages offer Edit; a member cannot delete someone else's.
    expect(await messageItem(bob.page, 'helo wrld').getByRole('button', { name: 'Edit message' }).count()).toBe(0)
    expect(await messageItem(bob.page, 'helo wrld').getByRole('button', { name: 'Delete message' }).count()).toBe(0)

    await messageItem(ada.page, 'helo wrld').getByRole('button', { name: 'Edit message' }).click()
    const editor = ada.page.getByRole('textbox', { name: 'Edit message' })
    await editor.fill('hello world')
    await editor.press('Enter')
    await waitForTexts(bodies(bob.page), ['hello world'])
    await waitForTexts(messageItem(bob.page, 'hello world').locator('.edited'), ['(edited)'])
    await waitForTexts(bodies(ada.page), ['hello world'])

    // Escape leaves an edit without changing anything; a reaction arriving meanwhile does not close the editor.
    await messageItem(ada.page, 'hello world').getByRole('button', { name: 'Edit message' }).click()
    await editor.fill('never saved')
    await messageItem(bob.page, 'hello world').getByRole('button', { name: 'Add a reaction' }).click()
    await bob.page.getByRole('button', { name: 'React with 👍' }).click()
    await waitForTexts(messageItem(bob.page, 'hello world').locator('.reaction'), ['👍 1'])
    expect(await editor.inputValue()).toBe('never saved')
    await editor.press('Escape')
    await waitForTexts(bodies(ada.page), ['hello world'])
    await waitForTexts(messageItem(ada.page, 'hello world').locator('.reaction'), ['👍 1'])

    await messageItem(ada.page, 'hello world').getByRole('button', { name: 'Delete message' }).click()
    await ada.page.getByRole('group', { name: 'Delete this message?' }).getByRole('button', { name: 'Delete', exact: true }).click()
    await waitForTexts(bodies(bob.page), ['This message was deleted'])
    await waitForTexts(bodies(ada.page), ['This message was deleted'])

    // After a reload, history shows the same: the edit and the tombstone are stored, not just shown.
    await bob.page.reload()
    await roomButton(bob.page, room).click()
    await waitForTexts(bodies(bob.page), ['This message was deleted'])
  })

  test('reactions are picked from a small set, counted for everyone, and toggled by clicking one’s own', async () => {
    const { ada, bob } = await twoInARoom(kit, 'Reactions')
    await say(ada.page, 'ship it?')
    await waitForTexts(bodies(bob.page), ['ship it?'])

    // Bob uses the picker with the keyboard.
    await messageItem(bob.page, 'ship it?').getByRole('button', { name: 'Add a reaction' }).press('Enter')
    await bob.page.getByRole('button', { name: 'React with 👍' }).press('Enter')
    await waitForTexts(messageItem(ada.page, 'ship it?').locator('.reaction'), ['👍 1'])
    expect(await messageItem(bob.page, 'ship it?').getByRole('button', { name: '👍 1' }).getAttribute('aria-pressed')).toBe('true')
    expect(await messageItem(ada.page, 'ship it?').getByRole('button', { name: '👍 1' }).getAttribute('aria-pressed')).toBe('false')

    // Ada joins in by clicking the count, and adds another emoji.
    await messageItem(ada.page, 'ship it?').getByRole('button', { name: '👍 1' }).click()
    await waitForTexts(messageItem(bob.page, 'ship it?').locator('.reaction'), ['👍 2'])
    await messageItem(ada.page, 'ship it?').getByRole('button', { name: 'Add a reaction' }).click()
    await ada.page.getByRole('button', { name: 'React with 🎉' }).click()
    await waitForTexts(messageItem(bob.page, 'ship it?').locator('.reaction'), ['👍 2', '🎉 1'])
    await screenshot(ada.page, 'reactions-desktop')

    // Bob takes his back.
    await messageItem(bob.page, 'ship it?').getByRole('button', { name: '👍 2' }).click()
    await waitForTexts(messageItem(ada.page, 'ship it?').locator('.reaction'), ['👍 1', '🎉 1'])
    await waitForTexts(messageItem(bob.page, 'ship it?').locator('.reaction'), ['👍 1', '🎉 1'])
    expect(await messageItem(bob.page, 'ship it?').getByRole('button', { name: '👍 1' }).getAttribute('aria-pressed')).toBe('false')
  })

  test('a reply quotes its original, and the quote jumps to the original even when it is pages back', async () => {
    const { ada, bob, room } = await twoInARoom(kit, 'Replies')
    await say(ada.page, 'the original question')
    // Enough messages after it that the original is not on the newest page any more.
    const api = createApiClient({ baseUrl: kit.stack.url, tokens: createMemoryTokenStore() })
    await api.login(ada.account.username, PASSWORD)
    const roomId = (await api.listRooms({ mine: true })).items.find((r) => r.name === room)!.id
    const socket = createChatSocket({ url: wsUrl(kit.stack.url), getToken: api.getAccessToken })
    for (let i = 1; i <= 60; i++) await socket.send(roomId, `filler ${i}`)
    socket.close()
    await waitForTexts(messageItem(bob.page, 'filler 60').locator('.body'), ['filler 60'])

    // Bob replies to the newest filler with the Reply button, then to the original through the API's replyTo.
    await messageItem(bob.page, 'filler 60').getByRole('button', { name: 'Reply' }).click()
    await waitForTexts(bob.page.locator('#reply-quote'), [`Replying to ${ada.account.displayName}: filler 60`])
    await say(bob.page, 'agreed')
    await waitForTexts(messageItem(ada.page, 'agreed').locator('.quote'), [`${ada.account.displayName}: filler 60`])
    await screenshot(bob.page, 'reply-phone')

    const original = (await api.listMessages(roomId, { limit: 100 })).items.find((m) => m.body === 'the original question')!
    const bobApi = createApiClient({ baseUrl: kit.stack.url, tokens: createMemoryTokenStore() })
    await bobApi.login(bob.account.username, PASSWORD)
    const bobSocket = createChatSocket({ url: wsUrl(kit.stack.url), getToken: bobApi.getAccessToken })
    await bobSocket.send(roomId, 'answering the first one', undefined, { replyTo: original.id })
    bobSocket.close()

    await ada.page.reload()
    await roomButton(ada.page, room).click()
    await waitForTexts(messageItem(ada.page, 'answering the first one').locator('.quote'), ['an earlier message'])
    await messageItem(ada.page, 'answering the first one').locator('.quote').click()
    await waitForTexts(ada.page.locator('#message-list .message.highlight .body'), ['the original question'])
  })

  test('"seen by" under the newest message names the member who has read it', async () => {
    const { ada, bob } = await twoInARoom(kit, 'Receipts')
    await bob.page.getByRole('button', { name: 'Rooms' }).click()
    await say(ada.page, 'did you read this?')
    expect(await ada.page.locator('.seen-by').count()).toBe(0)
    await bob.page.locator('#my-rooms button').first().click()
    await waitForTexts(bodies(bob.page), ['did you read this?'])
    await waitForTexts(messageItem(ada.page, 'did you read this?').locator('.seen-by'), [`Seen by ${bob.account.displayName}`])
    await say(ada.page, 'and this one?')
    await waitForTexts(messageItem(ada.page, 'and this one?').locator('.seen-by'), [`Seen by ${bob.account.displayName}`])
    expect(await ada.page.locator('.seen-by').count()).toBe(1)

    // A short conversation for the README's pictures: a reply, a reaction, the receipt.
    await messageItem(bob.page, 'did you read this?').getByRole('button', { name: 'Reply' }).click()
    await say(bob.page, 'Yes, all of it. Shipping on Tuesday.')
    await messageItem(ada.page, 'Shipping on Tuesday').getByRole('button', { name: 'Add a reaction' }).click()
    await ada.page.getByRole('button', { name: 'React with 🎉' }).click()
    await waitForTexts(messageItem(bob.page, 'Shipping on Tuesday').locator('.reaction'), ['🎉 1'])
    // A sender is not named under their own message: Ada sees the receipt stay where it was, Bob sees hers.
    await waitForTexts(messageItem(bob.page, 'Shipping on Tuesday').locator('.seen-by'), [`Seen by ${ada.account.displayName}`])
    await waitForTexts(ada.page.locator('.seen-by'), [`Seen by ${bob.account.displayName}`])
    expect(await messageItem(ada.page, 'and this one?').locator('.seen-by').count()).toBe(1)
    // Nothing pointed at or focused in the list, so the message actions stay out of the picture.
    await ada.page.mouse.move(0, 0)
    await ada.page.locator('#composer-input').focus()
    await screenshot(ada.page, 'conversation-desktop')
    await screenshot(bob.page, 'conversation-phone')
  })

  test('the owner sees members with roles, promotes one, and removes and bans another, who is told and cannot rejoin', async () => {
    const { ada, bob, room } = await twoInARoom(kit, 'Moderation')
    const cy = await kit.openApp(DESKTOP)
    const cyAccount = await register(cy.page, 'cy')
    await findAndJoinRoom(cy.page, room)

    await openRoomInfo(ada.page)
    await waitForTexts(memberRow(ada.page, ada.account.displayName).locator('.role'), ['Owner'])
    await waitForTexts(memberRow(ada.page, bob.account.displayName).locator('.role'), ['Member'])
    await waitForTexts(memberRow(ada.page, cyAccount.displayName).locator('.role'), ['Member'])
    await memberRow(ada.page, bob.account.displayName).getByRole('button', { name: `Make admin ${bob.account.displayName}` }).click()
    await waitForTexts(memberRow(ada.page, bob.account.displayName).locator('.role'), ['Admin'])

    // Bob, now an admin, may moderate members but not the owner.
    await openRoomInfo(bob.page)
    await waitForTexts(memberRow(bob.page, bob.account.displayName).locator('.role'), ['Admin'])
    expect(await memberRow(bob.page, ada.account.displayName).getByRole('button').count()).toBe(0)
    await memberRow(bob.page, cyAccount.displayName).getByRole('button', { name: 'Remove' }).waitFor()
    await screenshot(bob.page, 'members-phone')

    // Removal takes a second click, and Cy is told at once.
    await memberRow(ada.page, cyAccount.displayName).getByRole('button', { name: 'Remove' }).click()
    await ada.page.getByRole('button', { name: `Yes, remove ${cyAccount.displayName}` }).click()
    await waitForTexts(cy.page.locator('#room-notice-text'), [`You were removed from ${room}.`])
    await waitUntil(async () => (await roomButton(cy.page, room).count()) === 0, 'the room left Cy’s list', STEP_TIMEOUT_MS)
    await waitUntil(async () => (await memberRow(ada.page, cyAccount.displayName).count()) === 0, 'Cy left the member list', STEP_TIMEOUT_MS)

    // A removed member may rejoin a public room; a banned one may not.
    await findAndJoinRoom(cy.page, room)
    await waitUntil(async () => (await memberRow(ada.page, cyAccount.displayName).count()) === 1, 'Cy is listed again', STEP_TIMEOUT_MS)
    await memberRow(ada.page, cyAccount.displayName).getByRole('button', { name: 'Ban' }).click()
    await ada.page.getByRole('button', { name: `Yes, ban ${cyAccount.displayName}` }).click()
    await waitForTexts(cy.page.locator('#room-notice-text'), [`You were banned from ${room}.`])
    await cy.page.getByLabel('Room name starts with').fill(room)
    await cy.page.locator('#find-rooms-form').getByRole('button', { name: 'Search' }).click()
    await cy.page.getByRole('button', { name: `Join ${room}` }).click()
    await waitUntil(async () => ((await cy.page.locator('#find-rooms-results .form-error').textContent()) ?? '').length > 0, 'the join is refused', STEP_TIMEOUT_MS)
    expect(await roomButton(cy.page, room).count()).toBe(0)
  })

  test('an owner renames the room and sets a topic, which the other member sees live', async () => {
    const { ada, bob, room } = await twoInARoom(kit, 'Settings')
    await openRoomInfo(ada.page)
    const renamed = `${room} renamed`
    await ada.page.getByLabel('Name', { exact: true }).fill(renamed)
    await ada.page.getByLabel('Topic').fill('Release planning, Tuesdays')
    await ada.page.getByRole('button', { name: 'Save settings' }).click()
    await waitForTexts(bob.page.locator('#room-title'), [renamed])
    await waitForTexts(bob.page.locator('#room-topic'), ['Release planning, Tuesdays'])
    await waitForTexts(ada.page.locator('#room-title'), [renamed])
    // Bob is on a phone with the room open: the list is folded away, but renamed all the same.
    await waitForTexts(bob.page.locator('#my-rooms .name'), [renamed])
    // A member sees no settings form.
    await openRoomInfo(bob.page)
    await waitForTexts(memberRow(bob.page, ada.account.displayName).locator('.role'), ['Owner'])
    expect(await bob.page.locator('#room-settings-form').isHidden()).toBe(true)
    await screenshot(ada.page, 'room-info-desktop')
  })

  test('an invite link to a private room, opened while logged out, joins the room after login; a bad link says so', async () => {
    const ada = await kit.openApp(DESKTOP)
    await register(ada.page, 'ada')
    const room = roomName('Private')
    await createRoom(ada.page, room, { private: true })
    await openRoomInfo(ada.page)
    await ada.page.getByRole('button', { name: 'Create invite link' }).click()
    const linkBox = ada.page.getByLabel('Invite link')
    await linkBox.waitFor()
    const link = await linkBox.inputValue()
    expect(link).toMatch(new RegExp(`^${kit.stack.url}/invite/[A-Za-z0-9_-]+$`))

    const dee = await kit.openApp(PHONE, new URL(link).pathname)
    await register(dee.page, 'dee')
    await waitForTexts(dee.page.locator('#room-title'), [room])
    await say(dee.page, 'thanks for the invite')
    await waitForTexts(bodies(ada.page), ['thanks for the invite'])
    expect(new URL(dee.page.url()).pathname).toBe('/')

    const eve = await kit.openApp(DESKTOP, '/invite/not-a-real-code')
    await register(eve.page, 'eve')
    await waitForTexts(eve.page.locator('#room-notice-text'), ['This invite link is not valid.'])
    expect(await roomButton(eve.page, room).count()).toBe(0)
  })

  test('search finds a message in another room and opens that room at it, with the history around it', async () => {
    const username = uniqueName('fay')
    const api = createApiClient({ baseUrl: kit.stack.url, tokens: createMemoryTokenStore() })
    await api.register({ username, email: `${username}@example.com`, password: PASSWORD, displayName: 'Fay' })
    await api.login(username, PASSWORD)
    const archive = await api.createRoom({ name: roomName('Archive') })
    const other = await api.createRoom({ name: roomName('Elsewhere') })
    const socket = createChatSocket({ url: wsUrl(kit.stack.url), getToken: api.getAccessToken })
    for (let i = 1; i <= 40; i++) await socket.send(archive.id, i === 10 ? 'the zebra crossing at noon' : `archive note ${i}`)
    for (let i = 1; i <= 60; i++) await socket.send(archive.id, `later note ${i}`)
    await socket.send(other.id, 'nothing to see')
    socket.close()

    const { page } = await kit.openApp(DESKTOP)
    await logIn(page, { username, displayName: 'Fay' })
    await roomButton(page, other.name).click()
    await page.getByLabel('Words in your rooms').fill('zebra')
    await page.getByLabel('Words in your rooms').press('Enter')
    const result = page.locator('#search-messages-results .search-result')
    await waitForTexts(result.locator('.snippet'), ['the zebra crossing at noon'])
    await result.click()
    await waitForTexts(page.locator('#room-title'), [archive.name])
    await waitForTexts(page.locator('#message-list .message.highlight .body'), ['the zebra crossing at noon'])
    // The messages before it are there, and newer pages load up to the newest.
    await waitForTexts(messageItem(page, 'archive note 9').locator('.body'), ['archive note 9'])
    await screenshot(page, 'search-jump-desktop')
    // Scrolling down may load a page by itself; the button loads the rest.
    const newer = page.getByRole('button', { name: 'Load newer messages' })
    await waitUntil(async () => {
      if (await newer.isVisible()) await newer.click({ timeout: 1_000 }).catch(() => {})
      return (await messageItem(page, 'later note 60').count()) === 1
    }, 'the newest message is loaded', STEP_TIMEOUT_MS)
    await page.locator('#load-newer').waitFor({ state: 'hidden' })
  })
})
