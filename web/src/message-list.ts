import { addHistory, addPastEvents, applyToRoom, createRoomState, type Notice, type PastItem, type RoomState, type StreamItem } from '@chat/client/room-state'
import type { Message } from '@chat/common/chat-protocol'
import { byId, el } from './dom'
import { renderMessage, type ShownMessage } from './message-item'
import type { NameBook } from './names'
import { renderNoticeLine } from './timeline-line'
import { seenBy } from './timeline-state'

/** A message jumped to stays marked this long. */
const HIGHLIGHT_MS = 3_000

/**
 * The open room's timeline on screen: its messages and its membership and room changes
 * (lines such as "Ada added Bob") in `seq` order, each message drawn from its current
 * state, with "Sending…" copies of the user's own messages until they are stored, and the
 * "seen by" line. The state is the client package's room reducer (@chat/client/room-state),
 * fed with history pages and live frames; this module draws what each step changed.
 * Nothing here talks to the server.
 */
export function createMessageList(deps: { names: NameBook; myId: string }) {
  const { names, myId } = deps
  const list = byId<HTMLOListElement>('message-list')
  let state: RoomState = createRoomState('')
  /** The state's messages by id, for replies' quotes and the actions. */
  let messages = new Map<string, Message>()
  let markers = new Map<string, number>()
  let canModerate = false

  const context = () => ({ myId, names, canModerate, original: (id: string) => messages.get(id) })
  const itemOf = (id: string) => list.querySelector<HTMLLIElement>(`.message[data-id="${CSS.escape(id)}"]`)

  /**
   * Swaps an item for a new drawing, keeping keyboard focus on the same control. An item
   * the user is working in (editing, confirming a deletion, picking a reaction) is only
   * marked stale, and drawn again by `refresh` when that is over.
   */
  function redraw(message: Message) {
    const old = itemOf(message.id)
    if (old === null) return
    if (old.querySelector('.edit-form, .confirm, .picker') !== null) {
      old.dataset.stale = 'true'
      return
    }
    const focused = document.activeElement instanceof HTMLElement && old.contains(document.activeElement) ? document.activeElement : null
    const fresh = renderMessage(message, context())
    if (old.classList.contains('highlight')) fresh.classList.add('highlight')
    old.replaceWith(fresh)
    if (focused !== null) focusLike(fresh, focused)
    // Replies quoting it show its new text.
    for (const reply of list.querySelectorAll<HTMLElement>(`.quote[data-target="${CSS.escape(message.id)}"]`)) {
      const replyItem = reply.closest<HTMLElement>('.message')
      const replyMessage = replyItem?.dataset.id === undefined ? undefined : messages.get(replyItem.dataset.id)
      if (replyMessage !== undefined && replyItem !== null) replyItem.replaceWith(renderMessage(replyMessage, context()))
    }
    renderSeenBy()
  }

  function focusLike(item: HTMLElement, previous: HTMLElement) {
    const action = previous.dataset.action
    const emoji = previous.dataset.emoji
    const selector = action === undefined ? null : `[data-action="${action}"]${emoji === undefined ? '' : `[data-emoji="${CSS.escape(emoji)}"]`}`
    const target = (selector === null ? null : item.querySelector<HTMLElement>(selector)) ?? item.querySelector<HTMLElement>('[data-action="react"]')
    target?.focus()
  }

  function renderSeenBy() {
    for (const line of list.querySelectorAll('.seen-by')) line.remove()
    const shown = [...list.querySelectorAll<HTMLElement>('.message[data-id]')].flatMap((item) => messages.get(item.dataset.id!) ?? [])
    const seen = seenBy(shown, markers, myId)
    if (seen === null) return
    const item = list.querySelector(`.message[data-seq="${seen.seq}"]`)
    const people = seen.userIds.flatMap((id, i) => [...(i === 0 ? [] : [', ']), names.nameSpan(id)])
    item?.append(el('p', { className: 'seen-by' }, ['Seen by ', ...people]))
  }

  /**
   * Moves to the reducer's next state and draws the difference: new messages and lines go
   * where their seq belongs, changed messages are drawn again.
   */
  function show(next: RoomState) {
    if (next === state) return
    const previous = state
    state = next
    messages = new Map(next.messages.map((m) => [m.id, m]))
    const before = new Map(previous.messages.map((m) => [m.id, m]))
    let added = false
    for (const message of next.messages) {
      const old = before.get(message.id)
      if (old === undefined) added = placeMessage(message) || added
      else if (old !== message) redraw(message)
    }
    if (next.notices !== previous.notices) {
      const shown = new Set(previous.notices.map((n) => n.seq))
      for (const notice of next.notices) if (!shown.has(notice.seq)) placeLine(notice)
    }
    if (added) renderSeenBy()
  }

  /** Puts a stored message where its seq belongs, replacing its own "Sending…" copy. */
  function placeMessage(message: Message): boolean {
    if (itemOf(message.id) !== null) return false
    const pending = list.querySelector(`.pending[data-client-id="${CSS.escape(message.clientId)}"]`)
    if (pending !== null && message.senderId === myId) pending.remove()
    placeBySeq(renderMessage(message, context()), message.seq)
    return true
  }

  function placeLine(notice: Notice) {
    if (list.querySelector(`.timeline-line[data-seq="${notice.seq}"]`) === null) placeBySeq(renderNoticeLine(notice, names), notice.seq)
  }

  /** Pending messages (no seq yet) stay last; otherwise the item goes after the last one with a smaller seq. */
  function placeBySeq(item: HTMLElement, seq: number) {
    let before: Element | null = null
    for (let child = list.lastElementChild; child !== null; child = child.previousElementSibling) {
      const childSeq = (child as HTMLElement).dataset.seq
      if (childSeq !== undefined && Number(childSeq) < seq) break
      before = child
    }
    list.insertBefore(item, before)
  }

  return {
    get: (messageId: string) => messages.get(messageId),
    /** The room whose timeline is shown from now on (null: none); everything shown goes. */
    reset(roomId: string | null) {
      state = createRoomState(roomId ?? '')
      messages = new Map()
      markers = new Map()
      canModerate = false
      list.replaceChildren()
    },

    /** A page of history and the seq it reflects (its `lastSeq`): live changes it already includes are not applied again. */
    addPage(items: Message[], asOf: number) {
      show(addHistory(state, items, asOf))
    },

    /** Membership and room changes of a stretch of the past stream (`listEvents`), drawn between the messages. */
    addPast(items: PastItem[]) {
      show(addPastEvents(state, items))
    },

    /** A live message or event of the room. */
    receive(item: StreamItem) {
      show(applyToRoom(state, item, myId))
    },

    /** The user's own message, shown until it is stored; answers a function that marks it failed. */
    addPending(message: ShownMessage): (reason: string) => void {
      const item = renderMessage(message, context())
      item.classList.add('pending')
      list.append(item)
      return (reason) => {
        item.classList.replace('pending', 'failed')
        item.querySelector('.state')!.textContent = `Not sent: ${reason}`
      }
    },

    /** Draws a message again if it changed while the user was working in it. */
    refresh(messageId: string) {
      const message = messages.get(messageId)
      if (message !== undefined && itemOf(messageId)?.dataset.stale === 'true') redraw(message)
    },

    /** Read markers of the room's members; the "seen by" line follows them. */
    setMarkers(next: Map<string, number>) {
      markers = next
      renderSeenBy()
    },

    /** Whether the user may delete others' messages (their role changed): every item is drawn again. */
    setCanModerate(value: boolean) {
      if (value === canModerate) return
      canModerate = value
      for (const message of messages.values()) redraw(message)
    },

    /** Scrolls to a shown message and marks it for a moment; false if it is not shown. */
    highlight(messageId: string): boolean {
      const item = itemOf(messageId)
      if (item === null) return false
      for (const other of list.querySelectorAll('.highlight')) other.classList.remove('highlight')
      item.classList.add('highlight')
      item.scrollIntoView({ block: 'center' })
      item.tabIndex = -1
      item.focus({ preventScroll: true })
      setTimeout(() => item.classList.remove('highlight'), HIGHLIGHT_MS)
      return true
    },

    notice(text: string) {
      list.append(el('li', { className: 'notice', text }))
    },
  }
}
export type MessageList = ReturnType<typeof createMessageList>
