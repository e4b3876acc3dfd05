import type { ApiClient } from '@chat/client/api'
import type { Message } from '@chat/common/chat-protocol'
import { describeError } from './auth-view'
import { byId, el } from './dom'
import type { NameBook } from './names'

/** Results per page; "More results" fetches the next. */
const SEARCH_PAGE_SIZE = 20
const DATE_FORMAT = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })

/**
 * The sidebar's message search over all of the user's rooms, newest first. Picking a
 * result opens its room at that message (`onPick`).
 */
export function createMessageSearch(deps: {
  api: ApiClient
  names: NameBook
  /** The name a room is shown by, or null when it is not one of the user's rooms any more. */
  roomLabel: (roomId: string) => string | null
  onPick: (message: Message) => void
  signal: AbortSignal
}) {
  const { api, names, signal } = deps
  const form = byId<HTMLFormElement>('search-messages-form')
  const input = byId<HTMLInputElement>('search-messages-query')
  const results = byId<HTMLUListElement>('search-messages-results')
  let query = ''
  let cursor: string | null = null
  /** Bumped by every new search, so a late page of an older one is dropped. */
  let generation = 0

  function resultItem(message: Message): HTMLLIElement {
    const room = deps.roomLabel(message.room) ?? 'a room'
    const button = el('button', { className: 'search-result', attrs: { type: 'button', 'data-message': message.id } }, [
      el('span', { className: 'where' }, [names.nameSpan(message.senderId, 'author'), ` in ${room} · ${DATE_FORMAT.format(new Date(message.createdAt))}`]),
      el('span', { className: 'snippet', text: message.body }),
    ])
    button.addEventListener('click', () => deps.onPick(message))
    return el('li', {}, [button])
  }

  async function fetchPage(first: boolean) {
    const current = first ? ++generation : generation
    if (first) cursor = null
    try {
      const page = await api.searchMessages({ q: query, limit: SEARCH_PAGE_SIZE, ...(cursor === null ? {} : { cursor }) })
      if (current !== generation) return
      const rows = page.items.map(resultItem)
      results.querySelector('.more')?.remove()
      if (first) results.replaceChildren(...(rows.length === 0 ? [el('li', { className: 'hint', text: 'No message matches.' })] : rows))
      else results.append(...rows)
      cursor = page.nextCursor
      if (cursor !== null) {
        const more = el('button', { text: 'More results', attrs: { type: 'button' } })
        more.addEventListener('click', () => void fetchPage(false))
        results.append(el('li', { className: 'more' }, [more]))
      }
    } catch (error) {
      if (current === generation) results.replaceChildren(el('li', { className: 'form-error', text: describeError(error) }))
    }
  }

  form.addEventListener(
    'submit',
    (event) => {
      event.preventDefault()
      query = input.value.trim()
      if (query === '') return void results.replaceChildren()
      void fetchPage(true)
    },
    { signal },
  )

  return {
    clear() {
      generation++
      input.value = ''
      results.replaceChildren()
    },
  }
}
