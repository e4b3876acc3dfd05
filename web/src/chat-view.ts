import type { ApiClient } from '@chat/client/api'
import { ApiError } from '@chat/client/errors'
import { CLOSE } from '@chat/client/reconnect'
import { createChatSocket, type ChatSocketStatus } from '@chat/client/socket'
import type { LeftReason, Message } from '@chat/common/chat-protocol'
import { describeError } from './auth-view'
import { announce, byId } from './dom'
import { takeInviteCode } from './invite-link'
import { createMessageSearch } from './message-search'
import { createNameBook, directPeerOf } from './names'
import { createPresenceBook } from './presence-book'
import { createReadMarkers } from './read-markers'
import { createRoomPane } from './room-pane'
import { createRoomsList } from './rooms-list'
import type { Room } from './types'

/**
 * The room list is fetched again this often (and after every reconnect), to correct what
 * the live `room_added`/`left` frames may have missed and to take the server's unread counts.
 */
const ROOMS_SYNC_MS = 30_000
const ROOMS_PAGE_SIZE = 100
const APP_TITLE = 'Chat'

const SESSION_REVOKED_NOTICE = 'You were logged out: this session was ended from another tab or device.'
const SESSION_EXPIRED_NOTICE = 'Your session has expired. Please log in again.'
/** Said when a membership ends other than by the user's own leaving. */
const LEFT_NOTICE: Partial<Record<LeftReason, (room: string) => string>> = {
  removed: (room) => `You were removed from ${room}.`,
  banned: (room) => `You were banned from ${room}.`,
  deleted: (room) => `${room} was deleted.`,
}
const INVITE_ERRORS: Record<string, string> = {
  NOT_FOUND: 'This invite link is not valid.',
  INVITE_EXPIRED: 'This invite link has expired, has been used up or was withdrawn.',
  BANNED: 'You are banned from the room of this invite link.',
}

function socketUrl(): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/chat/ws`
}

export function showBanner(text: string | null) {
  const banner = byId('connection-status')
  banner.hidden = text === null
  banner.textContent = text ?? ''
}

/** A notice about the user's rooms (removed, an invite that did not work), until dismissed. */
function showRoomNotice(text: string | null) {
  const box = byId('room-notice')
  box.hidden = text === null
  byId('room-notice-text').textContent = text ?? ''
}

function describeStatus(status: ChatSocketStatus): string | null {
  if (status === 'connecting') return 'Connecting…'
  if (status === 'reconnecting') return navigator.onLine ? 'Connection lost. Reconnecting…' : 'You are offline. Reconnecting when the network is back…'
  return null
}

/**
 * The logged-in screen: one socket for every room of the user (so unread counts, presence
 * and typing are live everywhere), the sidebar and the open room. This module wires the
 * socket's frames to the parts that show them and keeps the list of the user's rooms.
 * Answers the function that tears it all down; `onEnded` is called when the server ends
 * the session.
 */
export async function startChat(api: ApiClient, options: { onEnded: (notice: string) => void }): Promise<() => void> {
  const me = await api.getMe()
  const names = createNameBook(api)
  names.remember(me)
  byId('me-name').textContent = me.displayName
  byId('auth-view').hidden = true
  const view = byId('chat-view')
  view.hidden = false
  view.dataset.pane = 'rooms'

  const teardown = new AbortController()
  const { signal } = teardown
  const socket = createChatSocket({ url: socketUrl(), getToken: api.getAccessToken, refreshToken: api.refresh })
  const rooms = new Map<string, Room>()
  let stopped = false
  let syncTimer: ReturnType<typeof setInterval> | undefined
  /** Set by the first disconnect: every `open` from then on is a reconnect, after which the room list is synced. */
  let wasDisconnected = false

  const pane = createRoomPane({
    api,
    socket,
    names,
    me,
    signal,
    onRoomChanged: (roomId, changes) => {
      const room = rooms.get(roomId)
      if (room !== undefined && changes.name !== undefined) {
        room.name = changes.name
        sidebar.rename(roomId, changes.name)
      }
    },
  })
  const sidebar = createRoomsList({
    api,
    names,
    me,
    signal,
    onOpen: (roomId) => void openRoom(roomId, { focus: true }),
    onAdded: (room) => {
      addRoom(room)
      void openRoom(room.id, { focus: true })
    },
  })
  const search = createMessageSearch({
    api,
    names,
    signal,
    roomLabel: (roomId) => {
      const room = rooms.get(roomId)
      return room === undefined ? null : sidebar.labelOf(room)
    },
    onPick: (message: Message) => void openRoom(message.room, { focus: false, around: { seq: message.seq, id: message.id } }),
  })
  const presence = createPresenceBook(api, (roomId) => showPresence(roomId))
  const readMarkers = createReadMarkers(api, (roomId) => rooms.get(roomId)?.lastSeq ?? 0)

  const isReading = (roomId: string) => pane.roomId === roomId && document.visibilityState === 'visible'

  function setUnread(roomId: string, unread: number) {
    const room = rooms.get(roomId)
    if (room === undefined) return
    room.unread = unread
    sidebar.setUnread(roomId, unread)
    const total = [...rooms.values()].reduce((sum, r) => sum + (r.unread ?? 0), 0)
    document.title = total === 0 ? APP_TITLE : `(${total}) ${APP_TITLE}`
  }

  function markRead(roomId: string) {
    setUnread(roomId, 0)
    readMarkers.mark(roomId)
  }

  function showPresence(roomId: string) {
    const set = presence.onlineIn(roomId)
    if (pane.roomId === roomId) pane.showPresence(set)
    const room = rooms.get(roomId)
    const peer = room === undefined ? null : directPeerOf(room, me.id)
    if (peer !== null) sidebar.setPeerOnline(roomId, set.has(peer))
  }

  function addRoom(room: Room) {
    if (rooms.has(room.id)) return
    rooms.set(room.id, { ...room })
    sidebar.add(room)
    setUnread(room.id, room.unread ?? 0)
    // From the seq the listing saw, so nothing said since is missed (it counts as unread).
    socket.join(room.id, { since: room.lastSeq }).catch(() => {})
    if (directPeerOf(room, me.id) !== null) void presence.fetch(room.id)
  }

  function removeRoom(roomId: string) {
    if (!rooms.delete(roomId)) return
    sidebar.remove(roomId)
    presence.forget(roomId)
    void socket.leave(roomId)
    if (pane.roomId === roomId) {
      pane.close()
      view.dataset.pane = 'rooms'
    }
  }

  async function openRoom(roomId: string, openOptions: { focus: boolean; around?: { seq: number; id: string } }) {
    const room = rooms.get(roomId)
    if (room === undefined) return
    sidebar.setActive(roomId)
    view.dataset.pane = 'room'
    markRead(roomId)
    const opening = pane.open(room, sidebar.labelOf(room), openOptions)
    showPresence(roomId)
    void presence.fetch(roomId)
    await opening
  }

  async function syncRooms() {
    const known = new Set(rooms.keys())
    const listed = new Set<string>()
    let cursor: string | undefined
    do {
      const page = await api.listRooms({ mine: true, cursor, limit: ROOMS_PAGE_SIZE })
      for (const room of page.items) {
        listed.add(room.id)
        const existing = rooms.get(room.id)
        if (existing === undefined) {
          addRoom(room)
          continue
        }
        // The server's count covers its lastSeq: the message handler counts only what comes after it.
        existing.lastSeq = Math.max(existing.lastSeq, room.lastSeq)
        if (!isReading(room.id)) setUnread(room.id, room.unread ?? 0)
      }
      cursor = page.nextCursor ?? undefined
    } while (cursor !== undefined)
    for (const roomId of known) if (!listed.has(roomId)) removeRoom(roomId)
  }

  /** An invite link this tab was opened with: accepted now that the user is logged in, and its room opened. */
  async function acceptPendingInvite() {
    const code = takeInviteCode()
    if (code === null) return
    try {
      const room = await api.acceptInvite(code)
      addRoom({ ...room, unread: 0 })
      await openRoom(room.id, { focus: true })
      announce(`You joined ${room.name}`)
    } catch (error) {
      showRoomNotice(error instanceof ApiError ? (INVITE_ERRORS[error.code] ?? describeError(error)) : describeError(error))
    }
  }

  function end(notice: string) {
    if (stopped) return
    stop()
    options.onEnded(notice)
  }

  function stop() {
    stopped = true
    teardown.abort()
    socket.close()
    clearInterval(syncTimer)
    readMarkers.stop()
    pane.close()
    sidebar.clear()
    search.clear()
    showBanner(null)
    showRoomNotice(null)
    document.title = APP_TITLE
  }

  socket.on('message', (message) => {
    const room = rooms.get(message.room)
    if (room === undefined) return
    // A reconnect's replay races the room list's sync: what the listing already counted is not counted again.
    const counted = message.seq <= room.lastSeq
    room.lastSeq = Math.max(room.lastSeq, message.seq)
    if (pane.roomId === message.room) pane.receive(message)
    if (isReading(message.room)) markRead(message.room)
    else if (!counted && message.senderId !== me.id) setUnread(message.room, (room.unread ?? 0) + 1)
  })
  socket.on('event', (event) => {
    const room = rooms.get(event.room)
    if (room === undefined) return
    // Events take seqs too: the read marker covers them, so they never count as unread.
    room.lastSeq = Math.max(room.lastSeq, event.seq)
    if (event.kind === 'room' && event.data.name !== undefined && pane.roomId !== event.room) {
      room.name = event.data.name
      sidebar.rename(event.room, event.data.name)
    }
    if (pane.roomId === event.room) pane.receiveEvent(event)
  })
  socket.on('receipt', ({ room, userId, seq }) => {
    if (pane.roomId === room) pane.receipt(userId, seq)
  })
  socket.on('room_added', () => void syncRooms().catch(() => {}))
  socket.on('presence', ({ room, userId, online }) => presence.update(room, userId, online))
  socket.on('typing', ({ room, userId }) => {
    if (pane.roomId === room) pane.showTyping(userId)
  })
  socket.on('left', ({ room, reason }) => {
    const known = rooms.get(room)
    const notice = reason === undefined || known === undefined ? undefined : LEFT_NOTICE[reason]
    if (notice !== undefined && known !== undefined) showRoomNotice(notice(sidebar.labelOf(known)))
    removeRoom(room)
  })
  socket.on('status', (status) => {
    showBanner(describeStatus(status))
    if (status === 'reconnecting') wasDisconnected = true
    if (status !== 'open' || !wasDisconnected) return
    // Back after a gap: the socket replays every joined room, but the list may have changed
    // meanwhile, and presence events of the gap are lost.
    void syncRooms().catch(() => {})
    presence.reset()
    if (pane.roomId !== null) void presence.fetch(pane.roomId)
  })
  socket.on('close', ({ code, willReconnect }) => {
    if (willReconnect || stopped) return
    if (code === CLOSE.REVOKED) return end(SESSION_REVOKED_NOTICE)
    // The socket has already tried a refreshed token (or could not get one).
    if (code === CLOSE.UNAUTHENTICATED) return end(SESSION_EXPIRED_NOTICE)
    showBanner(`The connection was closed (${code}). Reload the page to reconnect.`)
  })

  // The browser knows about a lost network before the socket does: drop it and keep trying,
  // then try at once when the network is back.
  window.addEventListener('offline', () => socket.reconnect(), { signal })
  window.addEventListener('online', () => socket.reconnect(), { signal })
  document.addEventListener(
    'visibilitychange',
    () => {
      if (pane.roomId !== null && isReading(pane.roomId)) markRead(pane.roomId)
    },
    { signal },
  )
  byId('back-to-rooms').addEventListener(
    'click',
    () => {
      // The room is out of sight now, so what arrives there counts as unread.
      const left = pane.roomId
      pane.close()
      sidebar.setActive(null)
      view.dataset.pane = 'rooms'
      if (left !== null) sidebar.focusRoom(left)
    },
    { signal },
  )
  byId('room-notice-dismiss').addEventListener('click', () => showRoomNotice(null), { signal })

  showBanner(describeStatus(socket.status))
  try {
    await syncRooms()
  } catch (error) {
    stop()
    throw error
  }
  if (stopped) return stop
  syncTimer = setInterval(() => void syncRooms().catch(() => {}), ROOMS_SYNC_MS)
  void acceptPendingInvite()
  return stop
}
