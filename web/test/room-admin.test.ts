import { describe, expect, test } from 'bun:test'
import type { Page } from 'playwright-core'
import { waitUntil } from '../../test/wait'
import { bodies, DESKTOP, findAndJoinRoom, memberRow, openRoomInfo, register, roomButton, say, screenshot, STEP_TIMEOUT_MS, twoInARoom, useBrowser, waitForTexts } from './browser-kit'

/**
 * Issue 9 in the web client, part two, two (or three) people in Chromium: membership and
 * room changes drawn as lines between messages, the bans list with Unban, handing a room
 * over and deleting it.
 */
const kit = useBrowser()

/** The timeline as read top to bottom: message bodies and change lines, in their seq order. */
const timeline = (page: Page) => page.locator('#message-list > li:not(.pending) :is(.body, .timeline-line p)')
const lines = (page: Page) => page.locator('#message-list .timeline-line')
const banRow = (page: Page, name: string) => page.locator('#ban-list li', { hasText: name })

async function tryToJoin(page: Page, room: string) {
  await page.getByLabel('Room name starts with').fill(room)
  await page.locator('#find-rooms-form').getByRole('button', { name: 'Search' }).click()
  await page.getByRole('button', { name: `Join ${room}` }).click()
}

describe('room changes in the timeline', () => {
  test('membership and room changes appear live for the other member as lines between the messages, and again in order after a reload', async () => {
    const { ada, bob, room } = await twoInARoom(kit, 'Lines')
    const [A, B] = [ada.account.displayName, bob.account.displayName]
    await waitForTexts(lines(ada.page), [`${B} joined`])
    await say(ada.page, 'welcome!')
    await waitForTexts(bodies(bob.page), ['welcome!'])

    await openRoomInfo(ada.page)
    await memberRow(ada.page, B).getByRole('button', { name: `Make admin ${B}` }).click()
    // Bob's own joining came with his first page of history; the rest arrive live.
    await waitForTexts(lines(bob.page), [`${B} joined`, `${A} made ${B} an admin`])
    await ada.page.getByLabel('Topic').fill('Fridays')
    await ada.page.getByRole('button', { name: 'Save settings' }).click()
    await waitForTexts(lines(bob.page), [`${B} joined`, `${A} made ${B} an admin`, `${A} set the topic to “Fridays”`])
    await say(bob.page, 'thanks')
    const expected = [`${B} joined`, 'welcome!', `${A} made ${B} an admin`, `${A} set the topic to “Fridays”`, 'thanks']
    await waitForTexts(timeline(ada.page), expected)
    await screenshot(ada.page, 'timeline-lines-desktop')

    // From history: the lines come from the room's stream, in the same places.
    await bob.page.reload()
    await roomButton(bob.page, room).click()
    await waitForTexts(timeline(bob.page), expected)
  })
})

describe('bans, handover and deletion in the room panel', () => {
  test('an owner sees who is banned, by whom and why, and unbans them, after which they can join again', async () => {
    const { ada, bob, room } = await twoInARoom(kit, 'Unban')
    const [A, B] = [ada.account.displayName, bob.account.displayName]
    await openRoomInfo(ada.page)
    await waitForTexts(banRow(ada.page, 'Nobody'), ['Nobody is banned.'])
    await memberRow(ada.page, B).getByRole('button', { name: 'Ban' }).click()
    await ada.page.getByRole('button', { name: `Yes, ban ${B}` }).click()
    await waitForTexts(bob.page.locator('#room-notice-text'), [`You were banned from ${room}.`])
    await waitForTexts(banRow(ada.page, B).locator('.ban-detail .by'), [A])
    await waitForTexts(lines(ada.page), [`${B} joined`, `${B} was banned`])
    await screenshot(ada.page, 'bans-desktop')

    await tryToJoin(bob.page, room)
    await waitUntil(async () => ((await bob.page.locator('#find-rooms-results .form-error').textContent()) ?? '').length > 0, 'the join is refused', STEP_TIMEOUT_MS)

    await banRow(ada.page, B).getByRole('button', { name: `Unban ${B}` }).click()
    await waitForTexts(ada.page.locator('#ban-list li'), ['Nobody is banned.'])
    await waitForTexts(lines(ada.page), [`${B} joined`, `${B} was banned`, `${B} was unbanned`])
    await tryToJoin(bob.page, room)
    await waitForTexts(bob.page.locator('#room-title'), [room])
    await waitUntil(async () => (await memberRow(ada.page, B).count()) === 1, 'Bob is a member again', STEP_TIMEOUT_MS)
    // A plain member sees no bans list.
    await openRoomInfo(bob.page)
    await waitForTexts(memberRow(bob.page, A).locator('.role'), ['Owner'])
    expect(await bob.page.locator('#bans-section').isHidden()).toBe(true)
  })

  test('the owner hands the room over after confirming: the other member becomes owner with the owner’s powers, and the previous owner an admin', async () => {
    const { ada, bob } = await twoInARoom(kit, 'Handover')
    const [A, B] = [ada.account.displayName, bob.account.displayName]
    await openRoomInfo(ada.page)
    await openRoomInfo(bob.page)
    await waitForTexts(memberRow(bob.page, A).locator('.role'), ['Owner'])
    expect(await bob.page.locator('#delete-room-section').isHidden()).toBe(true)

    await memberRow(ada.page, B).getByRole('button', { name: `Hand over to ${B}` }).click()
    // Cancel changes nothing; the second try goes through.
    await ada.page.getByRole('button', { name: 'Cancel', exact: true }).click()
    await memberRow(ada.page, B).getByRole('button', { name: `Hand over to ${B}` }).click()
    await ada.page.getByRole('button', { name: `Yes, hand over to ${B}` }).click()

    for (const page of [ada.page, bob.page]) {
      await waitForTexts(memberRow(page, B).locator('.role'), ['Owner'])
      await waitForTexts(memberRow(page, A).locator('.role'), ['Admin'])
    }
    await waitForTexts(lines(bob.page), [`${B} joined`, `${A} handed the room over to ${B}`, `${A} is now an admin`])
    // The new owner may delete the room and act on the admin; the previous owner may do neither.
    await bob.page.locator('#delete-room-section').waitFor()
    await memberRow(bob.page, A).getByRole('button', { name: `Make member ${A}` }).waitFor()
    await ada.page.locator('#delete-room-section').waitFor({ state: 'hidden' })
    expect(await memberRow(ada.page, B).getByRole('button').count()).toBe(0)
  })

  test('the owner deletes the room after confirming, and it drops out of the other member’s view at once', async () => {
    const { ada, bob, room } = await twoInARoom(kit, 'Deletion')
    const cy = await kit.openApp(DESKTOP)
    await register(cy.page, 'cy')
    await findAndJoinRoom(cy.page, room)
    await say(bob.page, 'last words')
    await waitForTexts(bodies(ada.page), ['last words'])

    await openRoomInfo(ada.page)
    await ada.page.getByRole('button', { name: 'Delete room' }).click()
    await ada.page.getByRole('group', { name: `Delete ${room} for everyone? Its messages are gone for good.` }).waitFor()
    await ada.page.getByRole('button', { name: 'Yes, delete the room' }).click()

    for (const page of [bob.page, cy.page, ada.page]) {
      await waitUntil(async () => (await roomButton(page, room).count()) === 0, 'the room left the list', STEP_TIMEOUT_MS)
      await waitForTexts(page.locator('#room-notice-text'), [`${room} was deleted.`])
      await waitForTexts(page.locator('#room-title'), ['Pick a room'])
    }
    expect(await bodies(bob.page).count()).toBe(0)
  })
})
