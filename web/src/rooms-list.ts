import type { ApiClient } from '@chat/client/api'
import { describeError } from './auth-view'
import { byId, el, hiddenText } from './dom'
import { directPeerOf, type NameBook } from './names'
import type { Me, Room } from './types'

/** Search answers shown at once; a narrower query finds the rest. */
const SEARCH_LIMIT = 10
/** Past this many unread, a badge reads "99+". */
const BADGE_MAX = 99

/**
 * The sidebar: the user's rooms (unread badges, a presence dot for direct messages, the
 * open one marked), and the forms to create a room, find and join public rooms, and find
 * a person to message. Rooms are updated in place, so keyboard focus survives updates.
 */
export function createRoomsList(deps: {
  api: ApiClient
  names: NameBook
  me: Me
  /** The user picked a room of theirs. */
  onOpen: (roomId: string) => void
  /** The user became a member of a room (created, joined, or a direct message opened); open it. */
  onAdded: (room: Room) => void
  /** Listeners go with the session: the page's elements outlive it. */
  signal: AbortSignal
}) {
  const { api, names, me, signal } = deps
  const list = byId<HTMLUListElement>('my-rooms')
  const empty = byId('my-rooms-empty')
  const items = new Map<string, HTMLLIElement>()

  /** A direct room shows the other person's name; every other room its own. */
  function labelOf(room: Room): string {
    const peer = directPeerOf(room, me.id)
    return peer === null ? room.name : names.nameOf(peer)
  }

  function roomItem(room: Room): HTMLLIElement {
    const peer = directPeerOf(room, me.id)
    const name = peer === null ? el('span', { className: 'name', text: room.name }) : names.nameSpan(peer)
    const kind = peer !== null ? 'direct message' : room.private ? 'private room' : ''
    const button = el('button', { className: 'room-button', attrs: { type: 'button', 'data-room': room.id } }, [
      el('span', { className: peer === null ? 'room-icon' : 'dot', attrs: { 'aria-hidden': 'true' }, text: peer === null ? '#' : '' }),
      name,
      ...(kind === '' ? [] : [hiddenText(`, ${kind}`)]),
      ...(peer === null ? [] : [el('span', { className: 'visually-hidden presence-text' })]),
      el('span', { className: 'badge', attrs: { hidden: '' } }),
    ])
    button.addEventListener('click', () => deps.onOpen(room.id))
    return el('li', { attrs: { 'data-room': room.id } }, [button])
  }

  function showResults(target: HTMLElement, rows: HTMLLIElement[], none: string) {
    target.replaceChildren(...(rows.length === 0 ? [el('li', { className: 'hint', text: none })] : rows))
  }

  function wireSearch(formId: string, search: (query: string) => Promise<HTMLLIElement[]>, resultsId: string, none: string) {
    const form = byId<HTMLFormElement>(formId)
    const results = byId(resultsId)
    form.addEventListener(
      'submit',
      async (event) => {
        event.preventDefault()
        const query = (form.elements.namedItem('q') as HTMLInputElement).value.trim()
        try {
          showResults(results, await search(query), none)
        } catch (error) {
          showResults(results, [el('li', { className: 'form-error', text: describeError(error) })], none)
        }
      },
      { signal },
    )
  }

  /** Runs a call that makes the user a member of a room, reporting failures beside the button. */
  async function becomeMember(button: HTMLButtonElement, join: () => Promise<Room>): Promise<boolean> {
    button.disabled = true
    try {
      deps.onAdded(await join())
      return true
    } catch (error) {
      button.after(el('span', { className: 'form-error', text: ` ${describeError(error)}` }))
      return false
    } finally {
      button.disabled = false
    }
  }

  wireSearch(
    'find-rooms-form',
    async (q) => {
      const page = await api.listRooms({ q: q === '' ? undefined : q, limit: SEARCH_LIMIT })
      return page.items.map((room) => {
        const mine = items.has(room.id)
        const button = el('button', { text: mine ? 'Open' : 'Join', attrs: { type: 'button', 'aria-label': `${mine ? 'Open' : 'Join'} ${room.name}` } })
        button.addEventListener('click', () => {
          if (items.has(room.id)) return deps.onOpen(room.id)
          void becomeMember(button, async () => {
            await api.joinRoom(room.id)
            return { ...room, unread: 0 }
          }).then((joined) => {
            if (!joined) return
            button.textContent = 'Open'
            button.setAttribute('aria-label', `Open ${room.name}`)
          })
        })
        return el('li', {}, [el('span', { className: 'name', text: room.name }), button])
      })
    },
    'find-rooms-results',
    'No public room by that name.',
  )

  wireSearch(
    'find-people-form',
    async (q) => {
      const page = await api.searchUsers({ q: q === '' ? undefined : q, limit: SEARCH_LIMIT })
      return page.items
        .filter((user) => user.id !== me.id)
        .map((user) => {
          names.remember(user)
          const button = el('button', { text: 'Message', attrs: { type: 'button', 'aria-label': `Message ${user.displayName} (@${user.username})` } })
          button.addEventListener('click', () => void becomeMember(button, async () => ({ ...(await api.openDirectRoom(user.id)), unread: 0 })))
          return el('li', {}, [el('span', { className: 'name', text: user.displayName }), el('span', { className: 'username', text: ` @${user.username}` }), button])
        })
    },
    'find-people-results',
    'Nobody by that name.',
  )

  const createForm = byId<HTMLFormElement>('create-room-form')
  createForm.addEventListener(
    'submit',
    async (event) => {
      event.preventDefault()
      const name = byId<HTMLInputElement>('create-room-name').value.trim()
      const isPrivate = byId<HTMLInputElement>('create-room-private').checked
      const errorBox = byId('create-room-error')
      errorBox.textContent = ''
      try {
        const room = await api.createRoom({ name, private: isPrivate })
        createForm.reset()
        deps.onAdded({ ...room, unread: 0 })
      } catch (error) {
        errorBox.textContent = describeError(error)
      }
    },
    { signal },
  )

  return {
    labelOf,

    /** Adds the room in name order, or leaves an existing entry as it is. */
    add(room: Room) {
      if (items.has(room.id)) return
      const item = roomItem(room)
      items.set(room.id, item)
      const label = labelOf(room).toLocaleLowerCase()
      const after = [...list.children].find((other) => (other.querySelector('.name')?.textContent ?? '').toLocaleLowerCase() > label)
      list.insertBefore(item, after ?? null)
      empty.hidden = true
    },

    remove(roomId: string) {
      items.get(roomId)?.remove()
      items.delete(roomId)
      empty.hidden = items.size > 0
    },

    /** The room was renamed: its entry shows the new name, in name order. */
    rename(roomId: string, name: string) {
      const item = items.get(roomId)
      const label = item?.querySelector('.name[data-user]') === null ? item?.querySelector('.name') : null
      if (label === null || label === undefined || item === undefined) return
      label.textContent = name
      item.remove()
      const after = [...list.children].find((other) => (other.querySelector('.name')?.textContent ?? '').toLocaleLowerCase() > name.toLocaleLowerCase())
      list.insertBefore(item, after ?? null)
    },

    setUnread(roomId: string, unread: number) {
      const badge = items.get(roomId)?.querySelector('.badge')
      if (badge === undefined || badge === null) return
      badge.toggleAttribute('hidden', unread === 0)
      // The server counts a backlog only so far (UNREAD_COUNT_MAX); a badge needs no more than this.
      const shown = unread > BADGE_MAX ? `${BADGE_MAX}+` : String(unread)
      badge.replaceChildren(shown, hiddenText(unread === 1 ? ' unread message' : ' unread messages'))
    },

    setPeerOnline(roomId: string, online: boolean) {
      const item = items.get(roomId)
      item?.querySelector('.dot')?.classList.toggle('online', online)
      const text = item?.querySelector('.presence-text')
      if (text) text.textContent = online ? ', online' : ''
    },

    setActive(roomId: string | null) {
      for (const [id, item] of items) {
        const button = item.querySelector('button')!
        if (id === roomId) button.setAttribute('aria-current', 'true')
        else button.removeAttribute('aria-current')
      }
    },

    /** Empties the sidebar for the next session (another user may log in on this page). */
    clear() {
      list.replaceChildren()
      items.clear()
      empty.hidden = false
      for (const id of ['find-rooms-results', 'find-people-results', 'create-room-error']) byId(id).replaceChildren()
    },

    focusRoom(roomId: string) {
      items.get(roomId)?.querySelector('button')?.focus()
    },
  }
}
