import type { ApiClient } from '@chat/client/api'
import { CLOSE } from '@chat/client/reconnect'
import { createChatSocket, type ChatSocketStatus } from '@chat/client/socket'
import { byId } from './dom'
import { createNameBook, directPeerOf } from './names'
import { createRoomPane } from './room-pane'
import { createRoomsList } from './rooms-list'
import type { Room } from './types'

/**
 * The room list is fetched again this often (and after every reconnect), to pick up rooms
 * joined elsewhere (a new direct message, being added to a private room) and the server's
 * unread counts.
 */
const ROOMS_SYNC_MS = 30_000
const ROOMS_PAGE_SIZE = 100
/** Read markers of the open room are sent at most this often while messages stream in. */
const READ_MARK_INTERVAL_MS = 500
const APP_TITLE = 'Chat'

const SESSION_REVOKED_NOTICE = 'You were logged out: this session was ended from another tab or device.'
const SESSION_EXPIRED_NOTICE = 'Your session has expired. Please log in again.'

function socketUrl(): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/chat/ws`
}

export function showBanner(text: string | null) {
  const banner = byId('connection-status')
  banner.hidden = text === null
  banner.textContent = text ?? ''
}

function describeStatus(status: ChatSocketStatus): string | null {
  if (status === 'connecting') return 'Connecting…'
  if (status === 'reconnecting') return navigator.onLine ? 'Connection lost. Reconnecting…' : 'You are offline. Reconnecting when the network is back…'
  return null
}

/**
 * The logged-in screen: one socket for every room of the user (so unread counts, presence
 * and typing are live everywhere), the sidebar and the open room. Answers the function
 * that tears it all down; `onEnded` is called when the server ends the session.
 */
export async function startChat(api: ApiClient, options: { onEnded: (notice: string) => void }): Promise<() => void> {
  const me = await api.getMe()
  const names = createNameBook(api)
  names.remember(me.id, me.displayName)
  byId('me-name').textContent = me.displayName
  byId('auth-view').hidden = true
  const view = byId('chat-view')
  view.hidden = false
  view.dataset.pane = 'rooms'

  const teardown = new AbortController()
  const { signal } = teardown
  const socket = createChatSocket({ url: socketUrl(), getToken: api.getAccessToken, refreshToken: api.refresh })
  const rooms = new Map<string, Room>()
  const online = new Map<string, Set<string>>()
  /** Rooms whose presence was fetched over this connection; the socket's presence events keep it current from then on. */
  const presenceFetched = new Set<string>()
  const readTimers = new Map<string, ReturnType<typeof setTimeout>>()
  let stopped = false
  let syncTimer: ReturnType<typeof setInterval> | undefined
  /** Set by the first disconnect: every `open` from then on is a reconnect, after which the room list is synced. */
  let wasDisconnected = false

  const pane = createRoomPane({ api, socket, names, me, signal })
  const sidebar = createRoomsList({
    api,
    names,
    me,
    signal,
    onOpen: (roomId) => void openRoom(roomId, true),
    onAdded: (room) => {
      addRoom(room)
      void openRoom(room.id, true)
    },
  })

  const onlineIn = (roomId: string) => online.get(roomId) ?? online.set(roomId, new Set()).get(roomId)!
  const isReading = (roomId: string) => pane.roomId === roomId && document.visibilityState === 'visible'

  function setUnread(roomId: string, unread: number) {
    const room = rooms.get(roomId)
    if (room === undefined) return
    room.unread = unread
    sidebar.setUnread(roomId, unread)
    const total = [...rooms.values()].reduce((sum, r) => sum + (r.unread ?? 0), 0)
    document.title = total === 0 ? APP_TITLE : `(${total}) ${APP_TITLE}`
  }

  /** A throttle, not a debounce: a marker already due is left to run, so a busy room is still marked every interval. */
  function markRead(roomId: string) {
    setUnread(roomId, 0)
    if (readTimers.has(roomId)) return
    readTimers.set(
      roomId,
      setTimeout(() => {
        readTimers.delete(roomId)
        // The newest seq when the timer fires, so what arrived while it waited is covered too.
        const room = rooms.get(roomId)
        if (room !== undefined && room.lastSeq > 0) api.markRead(roomId, room.lastSeq).catch(() => {})
      }, READ_MARK_INTERVAL_MS),
    )
  }

  async function fetchPresence(roomId: string) {
    if (presenceFetched.has(roomId)) return
    presenceFetched.add(roomId)
    try {
      const members = await api.getPresence(roomId)
      online.set(roomId, new Set(members.map((m) => m.userId)))
      showPresence(roomId)
    } catch {
      // Presence is a nicety: the next presence event corrects it, the next opening of the room asks again.
      presenceFetched.delete(roomId)
    }
  }

  function showPresence(roomId: string) {
    const set = onlineIn(roomId)
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
    if (directPeerOf(room, me.id) !== null) void fetchPresence(room.id)
  }

  function removeRoom(roomId: string) {
    if (!rooms.delete(roomId)) return
    sidebar.remove(roomId)
    // No presence events come for it any more; joined again, it is fetched afresh.
    online.delete(roomId)
    presenceFetched.delete(roomId)
    void socket.leave(roomId)
    if (pane.roomId === roomId) {
      pane.close()
      view.dataset.pane = 'rooms'
    }
  }

  async function openRoom(roomId: string, focus: boolean) {
    const room = rooms.get(roomId)
    if (room === undefined) return
    sidebar.setActive(roomId)
    view.dataset.pane = 'room'
    markRead(roomId)
    const opening = pane.open(room, sidebar.labelOf(room), { focus })
    showPresence(roomId)
    void fetchPresence(roomId)
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
    for (const timer of readTimers.values()) clearTimeout(timer)
    pane.close()
    sidebar.clear()
    showBanner(null)
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
  socket.on('presence', ({ room, userId, online: isOnline }) => {
    if (isOnline) onlineIn(room).add(userId)
    else onlineIn(room).delete(userId)
    showPresence(room)
  })
  socket.on('typing', ({ room, userId }) => {
    if (pane.roomId === room) pane.showTyping(userId)
  })
  socket.on('left', ({ room }) => removeRoom(room))
  socket.on('status', (status) => {
    showBanner(describeStatus(status))
    if (status === 'reconnecting') wasDisconnected = true
    if (status !== 'open' || !wasDisconnected) return
    // Back after a gap: the socket replays every joined room, but the list may have changed
    // meanwhile, and presence events of the gap are lost.
    void syncRooms().catch(() => {})
    presenceFetched.clear()
    if (pane.roomId !== null) void fetchPresence(pane.roomId)
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

  showBanner(describeStatus(socket.status))
  try {
    await syncRooms()
  } catch (error) {
    stop()
    throw error
  }
  if (!stopped) syncTimer = setInterval(() => void syncRooms().catch(() => {}), ROOMS_SYNC_MS)
  return stop
}
