/**
 * The one line of read receipts to show: under the newest shown message that someone
 * other than me and its sender has read, naming everyone of them whose marker reaches it
 * (a sender has read their own message; saying so tells nothing).
 */
export function seenBy(shown: readonly { seq: number; senderId: string }[], markers: ReadonlyMap<string, number>, myId: string): { seq: number; userIds: string[] } | null {
  for (let i = shown.length - 1; i >= 0; i--) {
    const { seq, senderId } = shown[i]
    const readers = [...markers].filter(([userId, marker]) => userId !== myId && userId !== senderId && marker >= seq).map(([userId]) => userId)
    if (readers.length > 0) return { seq, userIds: readers }
  }
  return null
}
