import type { ApiClient } from '@chat/client/api'
import type { MemberRole, RoomEvent, Message } from '@chat/common/chat-protocol'
import type { ChatSocket } from '@chat/client/socket'
import { describeError } from './auth-view'
import { createComposer } from './composer'
import { announce, byId, el } from './dom'
import { wireMessageActions } from './message-actions'
import { DELETED_TEXT } from './message-item'
import { createMessageList } from './message-list'
import { readPastStream } from './past-lines'
import { directPeerOf, type NameBook } from './names'
import { createRoomInfo } from './room-info'
import { createTypingLine } from './typing-line'
import type { Me, Room } from './types'

/** Messages per history request; one screenful or two. */
const HISTORY_PAGE_SIZE = 50
/** Messages loaded on each side of one jumped to (from search). */
const AROUND_PAGE_SIZE = 25
/** Older pages read to find the original of a reply before giving up. */
const JUMP_PAGES_MAX = 20
/** Scrolled this close to the top (or bottom), the next older (or newer) page is fetched. */
const LOAD_MORE_THRESHOLD_PX = 80
/** Within this distance of the bottom, new messages keep the view pinned to the bottom. */
const NEAR_BOTTOM_PX = 120

type OpenOptions = { focus: boolean; around?: { seq: number; id: string } }
type Page = { items: Message[]; nextCursor: number | null; lastSeq: number }

/** Where a page's stretch of the stream starts: its membership lines are those after this seq (from the room's start for its first page). */
const startOf = (page: Page) => (page.nextCursor === null || page.items.length === 0 ? 0 : page.items[0].seq - 1)
/** Where a newer page's stretch ends: the page's seq when it reaches the present, else its last message. */
const endOf = (page: Page) => (page.nextCursor === null ? page.lastSeq : (page.items.at(-1)?.seq ?? page.lastSeq))

/**
 * The open room: its header (name, topic, presence, the room panel), its history (newest
 * page first and older pages on scrolling up; or the pages around a message jumped to,
 * with newer pages on scrolling down), live messages and events, read receipts, and the
 * composer. What each part draws lives in its own module; this one decides what is loaded.
 */
export function createRoomPane(deps: {
  api: ApiClient
  socket: ChatSocket
  names: NameBook
  me: Me
  signal: AbortSignal
  /** The room was renamed or got a topic while open. */
  onRoomChanged: (roomId: string, changes: { name?: string; topic?: string }) => void
}) {
  const { api, socket, names, me, signal } = deps
  const title = byId('room-title')
  const topicLine = byId('room-topic')
  const presenceLine = byId('room-presence')
  const scroller = byId('message-scroller')
  const olderButton = byId<HTMLButtonElement>('load-older')
  const newerButton = byId<HTMLButtonElement>('load-newer')
  let room: Room | null = null
  /** Bumped on every room switch, so answers for the previous room are dropped. */
  let generation = 0
  /** `before` of the next older page, null at the first message. */
  let olderCursor: number | null = null
  /** `after` of the next newer page, null when the newest message is shown (live messages follow). */
  let newerCursor: number | null = null
  let loading = false
  let markers = new Map<string, number>()

  const list = createMessageList({ names, myId: me.id })
  const typing = createTypingLine(names)
  const composer = createComposer({ socket, list, names, myId: me.id, signal, onSent: () => scrollToBottom() })
  const info = createRoomInfo({ api, names, myId: me.id, signal, onRole: (role: MemberRole | null) => list.setCanModerate(role === 'owner' || role === 'admin') })
  wireMessageActions({ api, list, signal, roomId: () => room?.id ?? null, startReply: composer.startReply, jumpTo: (id) => void jumpTo(id) })

  const isNearBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < NEAR_BOTTOM_PX
  const scrollToBottom = () => {
    scroller.scrollTop = scroller.scrollHeight
  }
  const showCursors = () => {
    olderButton.hidden = olderCursor === null
    newerButton.hidden = newerCursor === null
  }

  /**
   * Draws the membership and room changes among the messages of a history page: those of
   * the stream with `after < seq <= upTo`. Best effort: the messages are shown already.
   * As with pages, `keep: 'bottom'` keeps what the reader sees in place while lines go in above it.
   */
  async function loadLines(roomId: string, after: number, upTo: number, current: number, keep: 'top' | 'bottom') {
    try {
      const items = await readPastStream(api, roomId, after, upTo)
      if (current !== generation) return
      const pinned = isNearBottom()
      const fromBottom = scroller.scrollHeight - scroller.scrollTop
      list.addPast(items)
      if (pinned) scrollToBottom()
      else if (keep === 'bottom') scroller.scrollTop = scroller.scrollHeight - fromBottom
    } catch {
      // Lines are context; live ones keep arriving, and the next visit reads them again.
    }
  }

  /** Runs one history request at a time for the current room; false if it was dropped or failed. */
  async function loadPage(read: (roomId: string) => Promise<Page>, keep: 'top' | 'bottom', use: (page: Page) => void): Promise<boolean> {
    if (room === null || loading) return false
    const current = generation
    loading = true
    try {
      const page = await read(room.id)
      if (current !== generation) return false
      // Keep what the reader is looking at in place while messages go in above it.
      const fromBottom = scroller.scrollHeight - scroller.scrollTop
      list.addPage(page.items, page.lastSeq)
      if (keep === 'bottom') scroller.scrollTop = scroller.scrollHeight - fromBottom
      use(page)
      showCursors()
      return true
    } catch (error) {
      if (current === generation) announce(`Messages could not be loaded: ${describeError(error)}`)
      return false
    } finally {
      if (current === generation) loading = false
    }
  }

  const loadOlder = () => {
    const before = olderCursor
    if (before === null) return Promise.resolve(false)
    return loadPage((id) => api.listMessages(id, { before, limit: HISTORY_PAGE_SIZE }), 'bottom', (page) => {
      olderCursor = page.nextCursor
      void loadLines(room!.id, startOf(page), before - 1, generation, 'bottom')
    })
  }
  const loadNewer = () => {
    const after = newerCursor
    if (after === null) return Promise.resolve(false)
    return loadPage((id) => api.listMessages(id, { after, limit: HISTORY_PAGE_SIZE }), 'top', (page) => {
      newerCursor = page.nextCursor
      void loadLines(room!.id, after, endOf(page), generation, 'top')
    })
  }

  /** Shows the original of a reply: older pages are read until it is found (a bounded number). */
  async function jumpTo(messageId: string) {
    const current = generation
    for (let page = 0; !list.highlight(messageId); page++) {
      if (page === JUMP_PAGES_MAX || olderCursor === null || !(await loadOlder()) || current !== generation) {
        if (current === generation) announce('The original message could not be found: it may have been deleted.')
        return
      }
    }
  }

  async function loadReceipts(roomId: string, current: number) {
    try {
      const receipts = await api.listReceipts(roomId)
      if (current !== generation) return
      markers = new Map(receipts.map((r) => [r.userId, r.seq]))
      list.setMarkers(markers)
    } catch {
      // Receipts are a nicety: live `receipt` frames fill them in as markers move.
    }
  }

  function showTopic(topic: string | null | undefined) {
    topicLine.textContent = topic ?? ''
  }

  // Listeners go with the session (`signal`): the page's elements outlive it.
  scroller.addEventListener(
    'scroll',
    () => {
      if (scroller.scrollTop < LOAD_MORE_THRESHOLD_PX) void loadOlder()
      else if (newerCursor !== null && isNearBottom()) void loadNewer()
    },
    { signal },
  )
  olderButton.addEventListener('click', () => void loadOlder(), { signal })
  newerButton.addEventListener('click', () => void loadNewer(), { signal })

  return {
    get roomId(): string | null {
      return room?.id ?? null
    },

    /** Shows a room: its newest page of history, or the pages around `around`, then whatever arrives. */
    async open(next: Room, label: string, options: OpenOptions) {
      const current = ++generation
      room = next
      loading = false
      olderCursor = newerCursor = null
      markers = new Map()
      typing.clear()
      list.reset(next.id)
      title.textContent = label
      showTopic(next.topic)
      presenceLine.textContent = ''
      showCursors()
      composer.setRoom(next.id, label)
      if (directPeerOf(next, me.id) === null) info.open(next)
      else info.close()
      if (options.focus && options.around === undefined) composer.focus()
      void loadReceipts(next.id, current)
      const around = options.around
      try {
        if (around === undefined) {
          const page = await api.listMessages(next.id, { limit: HISTORY_PAGE_SIZE })
          if (current !== generation) return
          list.addPage(page.items, page.lastSeq)
          olderCursor = page.nextCursor
          void loadLines(next.id, startOf(page), page.lastSeq, current, 'bottom')
          showCursors()
          scrollToBottom()
          return
        }
        // The message and what was said before it, then what came after.
        const [before, after] = await Promise.all([
          api.listMessages(next.id, { before: around.seq + 1, limit: AROUND_PAGE_SIZE }),
          api.listMessages(next.id, { after: around.seq, limit: AROUND_PAGE_SIZE }),
        ])
        if (current !== generation) return
        list.addPage(before.items, before.lastSeq)
        list.addPage(after.items, after.lastSeq)
        void loadLines(next.id, startOf(before), endOf(after), current, 'top')
        olderCursor = before.nextCursor
        newerCursor = after.nextCursor
        showCursors()
        if (!list.highlight(around.id)) announce('That message is no longer there.')
      } catch (error) {
        if (current === generation) list.notice(`History could not be loaded: ${describeError(error)}`)
      }
    },

    /** A live message of the open room. */
    receive(message: Message) {
      // Jumped back in history, the newest messages are not shown yet: newer pages bring this one in order.
      if (newerCursor !== null) return
      const pinned = isNearBottom() || message.senderId === me.id
      list.receive(message)
      typing.stop(message.senderId)
      if (pinned) scrollToBottom()
      if (message.senderId !== me.id) announce(`${names.nameOf(message.senderId)}: ${message.deleted === true ? DELETED_TEXT : message.body}`)
    },

    /** A live event of the open room. */
    receiveEvent(event: RoomEvent) {
      const pinned = isNearBottom()
      list.receive(event)
      if (event.kind === 'member') {
        if (pinned) scrollToBottom()
        return info.membersChanged(event.data.change)
      }
      if (event.kind === 'room') {
        if (pinned) scrollToBottom()
        if (room === null) return
        if (event.data.name !== undefined) {
          room.name = event.data.name
          title.textContent = event.data.name
        }
        if (event.data.topic !== undefined) showTopic(event.data.topic)
        info.roomChanged(event.data)
        return deps.onRoomChanged(room.id, event.data)
      }
    },

    /** A member's read marker moved. */
    receipt(userId: string, seq: number) {
      if ((markers.get(userId) ?? 0) >= seq) return
      markers = new Map(markers).set(userId, seq)
      list.setMarkers(markers)
    },

    showTyping(userId: string) {
      if (userId !== me.id) typing.show(userId)
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
      olderCursor = newerCursor = null
      title.textContent = 'Pick a room'
      showTopic(null)
      list.reset(null)
      presenceLine.textContent = ''
      typing.clear()
      composer.setRoom(null)
      info.close()
      showCursors()
    },
  }
}
