import type { Message } from '@chat/common/chat-protocol'
import { createClientId, type ChatSocket } from '@chat/client/socket'
import { byId } from './dom'
import { quoteOf } from './message-item'
import type { MessageList } from './message-list'
import type { NameBook } from './names'

/**
 * The message box: Enter sends, Shift+Enter is a new line; typing is told to the room; a
 * reply quotes its original above the box until it is sent or cancelled (Escape).
 */
export function createComposer(deps: { socket: ChatSocket; list: MessageList; names: NameBook; myId: string; signal: AbortSignal; onSent: () => void }) {
  const { socket, list, names, myId, signal } = deps
  const form = byId<HTMLFormElement>('composer')
  const input = byId<HTMLTextAreaElement>('composer-input')
  const replyBar = byId('reply-bar')
  const replyQuote = byId('reply-quote')
  let roomId: string | null = null
  let replyTo: Message | null = null

  function cancelReply() {
    replyTo = null
    replyBar.hidden = true
    replyQuote.textContent = ''
  }

  function send() {
    const body = input.value.trim()
    if (roomId === null || body === '') return
    const clientId = createClientId()
    const reply = replyTo === null ? {} : { replyTo: replyTo.id }
    const fail = list.addPending({ senderId: myId, body, clientId, ...reply })
    input.value = ''
    cancelReply()
    deps.onSent()
    socket.send(roomId, body, clientId, reply).catch((error: Error) => fail(error.message))
  }

  // Listeners go with the session (`signal`): the page's elements outlive it.
  form.addEventListener(
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
      if (event.key === 'Escape' && replyTo !== null) return cancelReply()
      // Enter that confirms an IME composition is neither a send nor a new line.
      if (event.key !== 'Enter' || event.shiftKey || event.isComposing) return
      event.preventDefault()
      send()
    },
    { signal },
  )
  input.addEventListener(
    'input',
    () => {
      if (roomId !== null && input.value !== '') socket.typing(roomId)
    },
    { signal },
  )
  byId('reply-cancel').addEventListener(
    'click',
    () => {
      cancelReply()
      input.focus()
    },
    { signal },
  )

  return {
    /** Shows the box for a room (null hides it). */
    setRoom(next: string | null, label = '') {
      roomId = next
      cancelReply()
      form.hidden = next === null
      input.setAttribute('aria-label', `Message ${label}`)
    },
    focus: () => input.focus(),
    startReply(message: Message) {
      replyTo = message
      replyQuote.textContent = `Replying to ${quoteOf(message, names)}`
      replyBar.hidden = false
      input.focus()
    },
  }
}
