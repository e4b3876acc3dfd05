/**
 * The position of a search result in the newest-first order: its creation time (ISO with
 * the microseconds Postgres keeps, so equal-looking milliseconds still order), its room and
 * its seq. Opaque to clients: base64url of a JSON triple.
 */
export type SearchPosition = { createdAt: string; room: string; seq: number }

const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
/** seqs are positive integers Postgres stores as bigint; JSON numbers are exact up to 2^53. */
const isSeq = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) > 0

/**
 * A time in the cursor's form that names a real instant. Date.parse alone takes 30 February
 * (and rolls it over); Postgres refuses it. So the milliseconds must print back the same.
 * Year 0000 prints back too, but Postgres has no year 0 (1 BC comes before AD 1).
 */
function isRealTime(text: string): boolean {
  if (!TIME.test(text) || text.startsWith('0000')) return false
  const parsed = Date.parse(text)
  return !Number.isNaN(parsed) && new Date(parsed).toISOString().slice(0, 23) === text.slice(0, 23)
}

export function encodeSearchCursor(position: SearchPosition): string {
  return Buffer.from(JSON.stringify([position.createdAt, position.room, position.seq])).toString('base64url')
}

/** undefined for anything this API did not hand out; the parts go into SQL, so each is checked for shape. */
export function decodeSearchCursor(cursor: string): SearchPosition | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString())
    if (!Array.isArray(value) || value.length !== 3) return undefined
    const [createdAt, room, seq] = value as unknown[]
    if (typeof createdAt !== 'string' || !isRealTime(createdAt)) return undefined
    if (typeof room !== 'string' || !UUID.test(room) || !isSeq(seq)) return undefined
    return { createdAt, room, seq }
  } catch {
    return undefined
  }
}
