import type { ApiClient } from '@chat/client/api'

/**
 * Who is online in each room: fetched once per room and connection, then kept current by
 * the socket's presence events. `onChange` is told the room whose set changed.
 */
export function createPresenceBook(api: ApiClient, onChange: (roomId: string) => void) {
  const online = new Map<string, Set<string>>()
  /** Rooms whose presence was fetched over this connection. */
  const fetched = new Set<string>()
  const setOf = (roomId: string) => online.get(roomId) ?? online.set(roomId, new Set()).get(roomId)!

  return {
    onlineIn: (roomId: string): ReadonlySet<string> => setOf(roomId),

    async fetch(roomId: string) {
      if (fetched.has(roomId)) return
      fetched.add(roomId)
      try {
        const members = await api.getPresence(roomId)
        online.set(roomId, new Set(members.map((m) => m.userId)))
        onChange(roomId)
      } catch {
        // Presence is a nicety: the next presence event corrects it, the next opening of the room asks again.
        fetched.delete(roomId)
      }
    },

    update(roomId: string, userId: string, isOnline: boolean) {
      if (isOnline) setOf(roomId).add(userId)
      else setOf(roomId).delete(userId)
      onChange(roomId)
    },

    /** The room is gone from the list; joined again, it is fetched afresh. */
    forget(roomId: string) {
      online.delete(roomId)
      fetched.delete(roomId)
    },

    /** After a reconnect the presence events of the gap are lost: every room is fetched again when needed. */
    reset() {
      fetched.clear()
    },
  }
}
