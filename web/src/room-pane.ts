import type { Message } from '@chat/common/chat-protocol'
import type { ApiClient } from '@chat/client/api'
import { createClientId, type ChatSocket } from '@chat/client/socket'
import { describeError } from './auth-view'
import { announce, byId, el } from './dom'
import { directPeerOf, type NameBook } from './names'
import type { Me, Room } from './types'

/** Messages per history request; one screenful or two. */
const HISTORY_PAGE_SIZE = 50
/** Scrolled this close to the top, the next older page is fetched. */
const LOAD_OLDER_THRESHOLD_PX = 80
/** Within this distance of the bottom, new messages keep the view pinned to the bottom. */
const NEAR_BOTTOM_PX = 120
/** The server forwards typing at most once a second; a name stays shown this long after the last one. */
const TYPING_SHOWN_MS = 3_000

const TIME_FORMAT = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })
const DATE_TIME_FORMAT = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })

/**
 * The open room: its history (newest page first, older pages on scrolling up or with the
 * button), live messages merged in by `seq`, the composer (Enter sends, Shift+Enter is a
 * new line), who is typing and who is online.
 */
export function createRoomPane(deps: { api: ApiClient; socket: ChatSocket; names: NameBook; me: Me; signal: AbortSignal }) {
  const { api, socket, names, me, signal } = deps
  const title = byId('room-title')
  const presenceLine = byId('room-presence')
  const scroller = byId('message-scroller')
  const list = byId<HTMLOListElement>('message-list')
  const olderButton = byId<HTMLButtonElement>('load-older')
  const typingLine = byId('typing-indicator')
  const composer = byId<HTMLFormElement>('composer')
  const input = byId<HTMLTextAreaElement>('composer-input')
  let room: Room | null = null
  /** Bumped on every room switch, so answers for the previous room are dropped. */
  let generation = 0
  let nextCursor: number | null = null
  let loadingOlder = false
  const typers = new Map<string, ReturnType<typeof setTimeout>>()

  const isNearBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < NEAR_BOTTOM_PX
  const scrollToBottom = () => {
    scroller.scrollTop = scroller.scrollHeight
  }

  function messageItem(message: Pick<Message, 'senderId' | 'body' | 'clientId'> & { seq?: number; createdAt?: string }): HTMLLIElement {
    const own = message.senderId === me.id
    const item = el('li', { className: own ? 'message own' : 'message', attrs: { 'data-client-id': message.clientId } })
    if (message.seq !== undefined) item.dataset.seq = String(message.seq)
    const when =
      message.createdAt === undefined
        ? el('span', { className: 'state', text: 'Sending…' })
        : el('time', { text: TIME_FORMAT.format(new Date(message.createdAt)), attrs: { datetime: message.createdAt, title: DATE_TIME_FORMAT.format(new Date(message.createdAt)) } })
    item.append(el('p', { className: 'meta' }, [names.nameSpan(message.senderId, 'author'), ' ', when]), el('p', { className: 'body', text: message.body }))
    return item
  }

  /** Puts a message where its seq belongs, replacing its own "Sending…" copy; a seq already shown is skipped. */
  function insertMessage(message: Message) {
    if (list.querySelector(`[data-seq="${message.seq}"]`) !== null) return
    const item = messageItem(message)
    const pending = list.querySelector(`.pending[data-client-id="${CSS.escape(message.clientId)}"]`)
    if (pending !== null && message.senderId === me.id) pending.remove()
    // Pending messages (no seq yet) stay last; otherwise find the last message with a smaller seq.
    let before: Element | null = null
    for (let child = list.lastElementChild; child !== null; child = child.previousElementSibling) {
      const seq = (child as HTMLElement).dataset.seq
      if (seq !== undefined && Number(seq) < message.seq) break
      before = child
    }
    list.insertBefore(item, before)
  }

  function renderTyping() {
    const who = [...typers.keys()].map((id) => names.nameOf(id))
    typingLine.textContent = who.length === 0 ? '' : `${who.join(', ')} ${who.length === 1 ? 'is' : 'are'} typing…`
  }

  function stopTyping(userId: string) {
    clearTimeout(typers.get(userId))
    typers.delete(userId)
  }

  async function loadOlder() {
    if (room === null || nextCursor === null || loadingOlder) return
    const current = generation
    loadingOlder = true
    olderButton.disabled = true
    try {
      const page = await api.listMessages(room.id, { before: nextCursor, limit: HISTORY_PAGE_SIZE })
      if (current !== generation) return
      // Keep what the reader is looking at in place while older messages go in above it.
      const fromBottom = scroller.scrollHeight - scroller.scrollTop
      for (const message of page.items) insertMessage(message)
      scroller.scrollTop = scroller.scrollHeight - fromBottom
      nextCursor = page.nextCursor
      olderButton.hidden = nextCursor === null
    } catch (error) {
      if (current === generation) announce(`Older messages could not be loaded: ${describeError(error)}`)
    } finally {
      loadingOlder = false
      olderButton.disabled = false
    }
  }

  function send() {
    const body = input.value.trim()
    if (room === null || body === '') return
    const roomId = room.id
    const clientId = createClientId()
    const pending = messageItem({ senderId: me.id, body, clientId })
    pending.classList.add('pending')
    list.append(pending)
    scrollToBottom()
    input.value = ''
    socket.send(roomId, body, clientId).catch((error: Error) => {
      pending.classList.replace('pending', 'failed')
      pending.querySelector('.state')!.textContent = `Not sent: ${error.message}`
    })
  }

  // Listeners go with the session (`signal`): the page's elements outlive it.
  scroller.addEventListener(
    'scroll',
    () => {
      if (scroller.scrollTop < LOAD_OLDER_THRESHOLD_PX) void loadOlder()
    },
    { signal },
  )
  olderButton.addEventListener('click', () => void loadOlder(), { signal })
  composer.addEventListener(
    'submit',
    (event) => {
      event.preventDefault()
      send()
    },
    { signal },
  )
  input.addEventListener(
    'keydown',
    (event) => {
      // Enter sends, Shift+Enter is a new line; Enter that confirms an IME composition is neither.
      if (event.key !== 'Enter' || event.shiftKey || event.isComposing) return
      event.preventDefault()
      send()
    },
    { signal },
  )
  input.addEventListener(
    'input',
    () => {
      if (room !== null && input.value !== '') socket.typing(room.id)
    },
    { signal },
  )

  return {
    get roomId(): string | null {
      return room?.id ?? null
    },

    /** Shows a room: its newest page of history, then whatever arrives. */
    async open(next: Room, label: string, options: { focus: boolean }) {
      const current = ++generation
      room = next
      for (const userId of [...typers.keys()]) stopTyping(userId)
      renderTyping()
      title.textContent = label
      list.replaceChildren()
      presenceLine.textContent = ''
      composer.hidden = false
      input.setAttribute('aria-label', `Message ${label}`)
      nextCursor = null
      olderButton.hidden = true
      if (options.focus) input.focus()
      try {
        const page = await api.listMessages(next.id, { limit: HISTORY_PAGE_SIZE })
        if (current !== generation) return
        for (const message of page.items) insertMessage(message)
        nextCursor = page.nextCursor
        olderButton.hidden = nextCursor === null
        scrollToBottom()
      } catch (error) {
        if (current === generation) list.append(el('li', { className: 'notice', text: `History could not be loaded: ${describeError(error)}` }))
      }
    },

    /** A live message of the open room. */
    receive(message: Message) {
      const pinned = isNearBottom() || message.senderId === me.id
      insertMessage(message)
      stopTyping(message.senderId)
      renderTyping()
      if (pinned) scrollToBottom()
      if (message.senderId !== me.id) announce(`${names.nameOf(message.senderId)}: ${message.body}`)
    },

    showTyping(userId: string) {
      if (userId === me.id) return
      stopTyping(userId)
      typers.set(
        userId,
        setTimeout(() => {
          typers.delete(userId)
          renderTyping()
        }, TYPING_SHOWN_MS),
      )
      renderTyping()
    },

    /** Who else is online in the open room. */
    showPresence(online: ReadonlySet<string>) {
      if (room === null) return
      const others = [...online].filter((id) => id !== me.id)
      const peer = directPeerOf(room, me.id)
      if (peer !== null) {
        presenceLine.replaceChildren(el('span', { className: online.has(peer) ? 'dot online' : 'dot', attrs: { 'aria-hidden': 'true' } }), online.has(peer) ? 'Online' : 'Offline')
        return
      }
      if (others.length === 0) return void presenceLine.replaceChildren('Nobody else is online')
      const people = others.flatMap((id, i) => [...(i === 0 ? [] : [', ']), names.nameSpan(id)])
      presenceLine.replaceChildren(el('span', { className: 'dot online', attrs: { 'aria-hidden': 'true' } }), 'Online: ', ...people)
    },

    close() {
      generation++
      room = null
      title.textContent = 'Pick a room'
      list.replaceChildren()
      presenceLine.textContent = ''
      typingLine.textContent = ''
      composer.hidden = true
      olderButton.hidden = true
    },
  }
}
