/**
 * This instance's authenticated sockets, by session (a revocation closes them) and by user
 * (membership events reach them). Pure bookkeeping; the caller acts on a user's first and
 * last socket (subscribing to and unsubscribing from that user's events).
 */
export function createSocketIndex<T>() {
  const bySession = new Map<string, Set<T>>()
  const byUser = new Map<string, Set<T>>()
  const filedAs = new Map<T, { sessionId: string; userId: string }>()

  const add = (map: Map<string, Set<T>>, key: string, socket: T) => {
    const set = map.get(key) ?? new Set()
    set.add(socket)
    map.set(key, set)
  }
  /** True when the key has no socket left. */
  const drop = (map: Map<string, Set<T>>, key: string, socket: T): boolean => {
    const set = map.get(key)
    set?.delete(socket)
    if (set !== undefined && set.size > 0) return false
    map.delete(key)
    return true
  }

  /** Forgets a socket; answers the user id when it was that user's last socket here, else null. */
  const remove = (socket: T): string | null => {
    const filed = filedAs.get(socket)
    if (filed === undefined) return null
    filedAs.delete(socket)
    drop(bySession, filed.sessionId, socket)
    return drop(byUser, filed.userId, socket) ? filed.userId : null
  }

  return {
    /** Files (or re-files, after a renewal) a socket; true when it is its user's first socket here. */
    put(socket: T, sessionId: string, userId: string): boolean {
      const filed = filedAs.get(socket)
      if (filed?.sessionId === sessionId && filed.userId === userId) return false
      if (filed !== undefined && filed.userId === userId) {
        drop(bySession, filed.sessionId, socket)
      } else if (filed !== undefined) {
        remove(socket)
      }
      filedAs.set(socket, { sessionId, userId })
      add(bySession, sessionId, socket)
      const first = !byUser.has(userId)
      add(byUser, userId, socket)
      return first
    },
    remove,
    ofSession: (sessionId: string): T[] => [...(bySession.get(sessionId) ?? [])],
    ofUser: (userId: string): T[] => [...(byUser.get(userId) ?? [])],
  }
}
