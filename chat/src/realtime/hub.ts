import type { ServerFrame, StreamItem } from '@chat/common/chat-protocol'
import type { ChatDeps } from '../deps'
import { catchUpReads, messagesDelivered } from '../metrics'
import { readLastSeqs } from '../rooms/service'
import { readTimelineAfter } from '../timeline/service'
import type { RoomBroker } from './broker'
import { membershipEndedBy, membershipEndedByItem, toFeedItem, toStreamFrame, type FeedItem } from './feed-item'
import type { Presence } from './presence'
import { CATCH_UP_PAGE, createRoomFeed, type RoomFeed } from './room-feed'

/** A room's feed is kept this long after its last local socket left, so rejoins are cheap. */
const FEED_RELEASE_DELAY_MS = 5000
/** How long a join waits for the broker subscription before relying on catch-up instead. */
const SUBSCRIBE_WAIT_MS = 2000
const SINCE_CATCH_UP_TRIES = 3

/** The part of a socket the hub needs: it never parses frames, it only delivers. */
export type Member = {
  readonly userId: string
  send(frame: ServerFrame): void
  /** Bun topic subscription: live frames for the room reach the socket without the hub touching it. */
  subscribe(topic: string): void
  unsubscribe(topic: string): void
  isOpen(): boolean
}

/** `members`: sockets joined or joining; `present`: those subscribed and counted in presence. */
type LiveRoom = { feed: RoomFeed; ready: Promise<void>; members: Set<Member>; present: Set<Member>; releaseTimer: Timer | null }

export const roomTopic = (roomId: string) => `room:${roomId}`

/** Hands a frame to every local socket subscribed to the topic; returns how many sockets that is. */
export type TopicPublish = (topic: string, data: string) => number

/**
 * The instance-wide side of real time: one feed per room that local sockets joined, the
 * broker subscriptions behind them, presence, and delivery through Bun's topic publish
 * (one serialization per message whatever the number of local sockets).
 */
export function createHub(deps: Pick<ChatDeps, 'sql' | 'reads' | 'log'>, broker: RoomBroker, presence: Presence, publish: TopicPublish) {
  const rooms = new Map<string, LiveRoom>()
  /** Local sockets per (room, user), to know when a user comes online or goes offline here. */
  const localPresence = new Map<string, Map<string, number>>()

  /**
   * Hands an item to the room's local sockets. A member event that ends someone's
   * membership also stops live delivery to that user's local sockets of the room, right
   * after it: the feed goes in seq order, and anything stored after a removal has a higher
   * seq, so they get nothing stored after it, whichever comes first of Redis' notice to
   * their sockets (which sends `left` and does the rest) and the next message.
   */
  const deliverTo = (roomId: string) => {
    const topic = roomTopic(roomId)
    return (item: FeedItem) => {
      messagesDelivered.inc({ path: 'live' }, publish(topic, item.frame))
      const ended = membershipEndedBy(item.frame)
      if (ended === null) return
      for (const member of rooms.get(roomId)?.members ?? []) if (member.userId === ended) member.unsubscribe(topic)
    }
  }
  // On the primary: a feed reads past what it has delivered, which only the primary surely holds.
  const readAfter = async (roomId: string, seq: number) => {
    catchUpReads.inc()
    return (await readTimelineAfter(deps.sql, roomId, seq, null, CATCH_UP_PAGE)).map(toFeedItem)
  }

  broker.onEvent((roomId, event) => {
    switch (event.kind) {
      case 'timeline':
        rooms.get(roomId)?.feed.offer(event.items)
        return
      case 'presence':
        publish(roomTopic(roomId), JSON.stringify({ type: 'presence', room: roomId, userId: event.userId, online: event.online }))
        return
      case 'typing':
        publish(roomTopic(roomId), JSON.stringify({ type: 'typing', room: roomId, userId: event.userId }))
        return
    }
  })
  broker.onReconnect(() => {
    for (const room of rooms.values()) void room.feed.catchUp()
  })

  /** Subscribes (once) and learns where the room's stream starts. */
  const openRoom = (roomId: string): LiveRoom => {
    const existing = rooms.get(roomId)
    if (existing !== undefined) {
      if (existing.releaseTimer !== null) clearTimeout(existing.releaseTimer)
      existing.releaseTimer = null
      return existing
    }
    const feed = createRoomFeed(roomId, deliverTo(roomId), readAfter, (error) => deps.log.warn('room catch-up failed', { roomId, error }))
    const ready = (async () => {
      // Subscribe first, then read last_seq: anything committed after the read arrives
      // through the broker, anything before it is at or below the starting point.
      const subscribed = broker.subscribe(roomId)
      const timedOut = await Promise.race([subscribed.then(() => false), Bun.sleep(SUBSCRIBE_WAIT_MS).then(() => true)])
      if (timedOut) deps.log.warn('broker subscription delayed; relying on catch-up', { roomId })
      const lastSeqs = await readLastSeqs(deps.sql, [roomId])
      feed.start(lastSeqs.get(roomId) ?? 0)
    })()
    const room: LiveRoom = { feed, ready, members: new Set(), present: new Set(), releaseTimer: null }
    rooms.set(roomId, room)
    ready.catch(() => closeRoom(roomId, room))
    return room
  }

  const closeRoom = (roomId: string, room: LiveRoom) => {
    if (rooms.get(roomId) !== room) return
    rooms.delete(roomId)
    room.feed.stop()
    broker.unsubscribe(roomId).catch(() => {})
  }

  const releaseLater = (roomId: string, room: LiveRoom) => {
    if (room.members.size > 0 || room.releaseTimer !== null) return
    room.releaseTimer = setTimeout(() => {
      room.releaseTimer = null
      if (room.members.size === 0) closeRoom(roomId, room)
    }, FEED_RELEASE_DELAY_MS)
  }

  /**
   * Adds a socket to a room. With `since`, stored messages and events after it are sent first, in seq order, then
   * the socket is subscribed to live delivery in the same synchronous step as the last
   * check of how far the feed has got: nothing is missed and nothing arrives twice.
   */
  async function join(member: Member, roomId: string, since: number | undefined, answer: (lastSeq: number) => void): Promise<void> {
    const room = openRoom(roomId)
    room.members.add(member)
    try {
      await joinOpened(room, member, roomId, since, answer)
    } catch (error) {
      forget(roomId, room, member)
      throw error
    }
    if (room.present.has(member)) await userArrived(roomId, member.userId)
  }

  /** `join` once the socket is among the room's members: a failure here is undone by the caller. */
  async function joinOpened(room: LiveRoom, member: Member, roomId: string, since: number | undefined, answer: (lastSeq: number) => void) {
    await room.ready
    // Live delivery cannot be filtered per socket, so the feed must have passed `since`
    // before this socket subscribes; otherwise messages the client already has would
    // reach it again. Catching up reads whatever is committed (bounded tries: a `since`
    // beyond the stored messages simply never arrives).
    for (let tries = 0; since !== undefined && since > room.feed.deliveredSeq && tries < SINCE_CATCH_UP_TRIES; tries++) {
      await room.feed.catchUp()
    }
    const joinedAt = room.feed.deliveredSeq
    answer(joinedAt)
    if (since !== undefined) {
      // The next page is read while this one is sent. The loop ends when a page is read up
      // to the feed's position with no await between that check and the subscription below.
      // Everything up to that position is stored, so the replica may answer once it holds it.
      const readFrom = (cursor: number) => {
        const upto = room.feed.deliveredSeq
        return cursor < upto ? deps.reads.forRoom(roomId, upto, (sql) => readTimelineAfter(sql, roomId, cursor, upto, CATCH_UP_PAGE)) : null
      }
      let next = readFrom(since)
      // A membership that ended during the replay (left, removed, banned) stops it: at the
      // next page once the notice has undone the join, and at once at its own event when
      // that is in a page (past `joined`; earlier ones are history, the membership check
      // came after them), since what follows was stored after the end.
      while (next !== null && stillJoined(room, member)) {
        const page = await next
        if (page.length === 0 || !stillJoined(room, member)) break
        next = readFrom(page.at(-1)!.seq)
        const end = page.findIndex((item) => item.seq > joinedAt && membershipEndedByItem(item) === member.userId)
        const shown = end < 0 ? page : page.slice(0, end + 1)
        for (const item of shown) member.send(toStreamFrame(item))
        messagesDelivered.inc({ path: 'replay' }, shown.length)
        if (end >= 0) {
          next?.catch(() => {})
          return forget(roomId, room, member)
        }
      }
      // A closed socket may leave a read in flight: its failure is of no interest.
      next?.catch(() => {})
    }
    // Closed, or left (by the client or because the membership ended) during the replay.
    if (!stillJoined(room, member)) return forget(roomId, room, member)
    member.subscribe(roomTopic(roomId))
    room.present.add(member)
  }

  const stillJoined = (room: LiveRoom, member: Member) => member.isOpen() && room.members.has(member)

  /** A socket that never got as far as the live stream (closed, left or failed while joining): the room may be released. */
  const forget = (roomId: string, room: LiveRoom, member: Member) => {
    room.members.delete(member)
    releaseLater(roomId, room)
  }

  async function leave(member: Member, roomId: string): Promise<void> {
    const room = rooms.get(roomId)
    if (room === undefined || !room.members.delete(member)) return
    if (member.isOpen()) member.unsubscribe(roomTopic(roomId))
    releaseLater(roomId, room)
    // One that left during its replay never arrived: it must not count as a departure.
    if (room.present.delete(member)) await userDeparted(roomId, member.userId)
  }

  const userArrived = async (roomId: string, userId: string) => {
    const users = localPresence.get(roomId) ?? new Map<string, number>()
    localPresence.set(roomId, users)
    const count = (users.get(userId) ?? 0) + 1
    users.set(userId, count)
    if (count > 1) return
    await presence.markOnline(roomId, userId)
    await broker.publish(roomId, { kind: 'presence', userId, online: true })
  }

  const userDeparted = async (roomId: string, userId: string) => {
    const users = localPresence.get(roomId)
    const count = (users?.get(userId) ?? 1) - 1
    if (count > 0) return void users!.set(userId, count)
    users?.delete(userId)
    if (users?.size === 0) localPresence.delete(roomId)
    await presence.markOffline(roomId, userId)
    if (!(await presence.isOnline(roomId, userId))) await broker.publish(roomId, { kind: 'presence', userId, online: false })
  }

  /** Renews this instance's presence entries and reports users whose instance died. */
  async function maintainPresence(sockets: [userId: string, socketId: string][]) {
    const entries: [string, string][] = []
    for (const [roomId, users] of localPresence) for (const userId of users.keys()) entries.push([roomId, userId])
    await presence.heartbeat({ rooms: entries, sockets })
    for (const roomId of rooms.keys()) {
      for (const userId of await presence.sweepExpired(roomId)) {
        if (!(await presence.isOnline(roomId, userId))) await broker.publish(roomId, { kind: 'presence', userId, online: false })
      }
    }
  }

  /** Safety net behind pub/sub: any room whose stored seq is ahead of its feed catches up. */
  async function reconcile() {
    const ids = [...rooms.keys()]
    if (ids.length === 0) return
    for (const [roomId, lastSeq] of await readLastSeqs(deps.sql, ids)) {
      const room = rooms.get(roomId)
      if (room?.feed.started && lastSeq > room.feed.deliveredSeq) void room.feed.catchUp()
    }
  }

  return {
    join,
    leave,
    maintainPresence,
    reconcile,
    typing: (roomId: string, userId: string) => broker.publish(roomId, { kind: 'typing', userId }),
    onlineUserIds: (roomId: string) => presence.onlineUserIds(roomId),
    /**
     * Fans freshly stored messages or events out to every instance, one broker event per
     * room, and hands them to this instance's own feeds at once rather than when the broker
     * echoes them back (a round trip through Redis saved for local sockets). The echo is
     * then dropped by the feed as already delivered; order and gaps are the feed's concern
     * either way.
     */
    async publishStored(items: StreamItem[]) {
      const byRoom = new Map<string, FeedItem[]>()
      for (const item of items) {
        const feedItem = toFeedItem(item)
        const list = byRoom.get(item.room)
        if (list === undefined) byRoom.set(item.room, [feedItem])
        else list.push(feedItem)
      }
      for (const [roomId, list] of byRoom) rooms.get(roomId)?.feed.offer(list)
      await Promise.all(
        [...byRoom].map(([roomId, list]) =>
          broker.publish(roomId, { kind: 'timeline', items: list }).catch((error) => deps.log.warn('publish failed; receivers will catch up', { roomId, error })),
        ),
      )
    },
  }
}
export type Hub = ReturnType<typeof createHub>
