/**
 * The newest `seq` seen per room. It is what a reconnecting socket asks to resume from
 * (`join{since}`), and what tells a message already seen (replayed twice, or arriving
 * both from a replay and live) from a new one.
 */
export function createSeqTracker() {
  const newest = new Map<string, number>()
  return {
    /** The newest seq seen in the room, or undefined before anything is known. */
    last: (room: string): number | undefined => newest.get(room),
    /** Everything up to `seq` counts as seen (a join's starting point); never moves backwards. */
    advance(room: string, seq: number) {
      newest.set(room, Math.max(newest.get(room) ?? seq, seq))
    },
    /** True for a message newer than everything seen in its room, which then counts as seen; false for a duplicate. */
    accept(room: string, seq: number): boolean {
      const last = newest.get(room)
      if (last !== undefined && seq <= last) return false
      newest.set(room, seq)
      return true
    },
    forget(room: string) {
      newest.delete(room)
    },
  }
}
