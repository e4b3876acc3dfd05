import type { ApiClient } from '@chat/client/api'
import { el } from './dom'

/** What a user id is shown as until the profile has arrived. */
const UNKNOWN_NAME = 'someone'
const DIRECT_ROOM_NAME = /^([0-9a-f-]{36}):([0-9a-f-]{36})$/i

/**
 * Display names of user ids, fetched once each. Elements showing a name carry its id in
 * `data-user`, so they are all filled in when the profile arrives. Display names are
 * anyone's to choose, so each also shows its unique `@username` on hover.
 */
export function createNameBook(api: ApiClient) {
  const names = new Map<string, { displayName: string; username: string }>()
  const fetching = new Set<string>()

  const show = (element: Element, userId: string) => {
    const known = names.get(userId)
    if (known === undefined) return
    element.textContent = known.displayName
    element.setAttribute('title', `@${known.username}`)
  }

  function fetchName(userId: string) {
    if (names.has(userId) || fetching.has(userId)) return
    fetching.add(userId)
    api
      .getUser(userId)
      .then((profile) => {
        names.set(userId, { displayName: profile.displayName, username: profile.username })
        for (const element of document.querySelectorAll(`[data-user="${CSS.escape(userId)}"]`)) show(element, userId)
      })
      .catch(() => {})
      .finally(() => fetching.delete(userId))
  }

  function nameOf(userId: string): string {
    fetchName(userId)
    return names.get(userId)?.displayName ?? UNKNOWN_NAME
  }

  /** A span showing the user's name, kept up to date. */
  function nameSpan(userId: string, className = 'name'): HTMLSpanElement {
    const span = el('span', { className, text: nameOf(userId), attrs: { 'data-user': userId } })
    show(span, userId)
    return span
  }

  return {
    remember(user: { id: string; displayName: string; username: string }) {
      names.set(user.id, { displayName: user.displayName, username: user.username })
    },
    nameOf,
    nameSpan,
  }
}
export type NameBook = ReturnType<typeof createNameBook>

/**
 * A direct-message room is private, has no owner and is named after its two members' ids,
 * one of them mine; this is the other one, or null for any other room. The service refuses
 * that form of name for other rooms; the owner check also covers rooms named so before.
 */
export function directPeerOf(room: { name: string; private: boolean; ownerId: string | null }, myId: string): string | null {
  const match = room.private && room.ownerId === null ? DIRECT_ROOM_NAME.exec(room.name) : null
  if (match === null) return null
  if (match[1] === myId) return match[2]
  return match[2] === myId ? match[1] : null
}
