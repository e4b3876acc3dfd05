import type { LeftReason } from '@chat/common/chat-protocol'

/** Why a `join` cannot start on this socket. */
export type JoinRefusal = 'ALREADY_JOINED' | 'TOO_MANY_ROOMS'

/**
 * The rooms one socket joined or is joining. It remembers no authorization: membership is
 * asked of Postgres at every `join` and checked by the store at every `send`. What it
 * keeps is which live streams the socket holds, and a membership that ended while a join
 * was under way, so that join is undone as soon as it completes.
 */
export function createRoomAccess(maxRooms: number) {
  const joined = new Set<string>()
  /** Rooms being joined, with the reason their membership ended meanwhile (null while it holds). */
  const joining = new Map<string, LeftReason | null>()
  return {
    /** Reserves a place for a join, or says why there is none. */
    startJoin(roomId: string): JoinRefusal | null {
      if (joined.has(roomId) || joining.has(roomId)) return 'ALREADY_JOINED'
      if (joined.size + joining.size >= maxRooms) return 'TOO_MANY_ROOMS'
      joining.set(roomId, null)
      return null
    },
    /**
     * The join is over: when it `succeeded` the room counts as joined, unless the membership
     * ended meanwhile. Answers that reason (the caller undoes the join and says `left`), or null.
     */
    finishJoin(roomId: string, succeeded: boolean): LeftReason | null {
      const ended = joining.get(roomId) ?? null
      joining.delete(roomId)
      if (succeeded && ended === null) joined.add(roomId)
      return ended
    },
    /** The socket leaves on its own; false when it had not joined. */
    leave(roomId: string): boolean {
      return joined.delete(roomId)
    },
    /**
     * The user's membership ended: a joined room is dropped ('joined', the caller stops its
     * stream), a join under way is marked to be undone ('joining'), else 'none'.
     */
    end(roomId: string, reason: LeftReason): 'joined' | 'joining' | 'none' {
      if (joined.delete(roomId)) return 'joined'
      if (!joining.has(roomId)) return 'none'
      joining.set(roomId, reason)
      return 'joining'
    },
    has: (roomId: string) => joined.has(roomId),
    joinedRooms: () => [...joined],
    /** Every joined room, emptied: the socket is closing. */
    takeAll(): string[] {
      const rooms = [...joined]
      joined.clear()
      return rooms
    },
  }
}
export type RoomAccess = ReturnType<typeof createRoomAccess>
