import { describe, expect, test } from 'bun:test'
import { decodeSearchCursor, encodeSearchCursor } from './cursor'

const position = { createdAt: '2026-11-30T07:01:02.123456Z', room: '0b0e1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d', seq: 42 }

describe('search cursor', () => {
  test('a cursor decodes to the position it was made from', () => {
    expect(decodeSearchCursor(encodeSearchCursor(position))).toEqual(position)
  })

  test('anything not made by this API is refused', () => {
    const made = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
    for (const cursor of [
      '',
      'not base64 at all!',
      made({ createdAt: position.createdAt }),
      made([position.createdAt, position.room]),
      made(['2026-11-30T07:01:02.123Z', position.room, 1]),
      made(['2026-13-45T07:01:02.123456Z', position.room, 1]),
      // Date.parse rolls 30 February over to March; Postgres refuses it.
      made(['2026-02-30T00:00:00.000000Z', position.room, 1]),
      made(['2026-11-30T24:00:00.000000Z', position.room, 1]),
      // JavaScript's year 0 is Postgres' 1 BC, which it writes differently and refuses as typed.
      made(['0000-01-01T00:00:00.000000Z', position.room, 1]),
      made([position.createdAt, 'not-a-uuid', 1]),
      made([position.createdAt, position.room, 0]),
      made([position.createdAt, position.room, 1.5]),
      made([position.createdAt, position.room, '7']),
      made([position.createdAt, position.room, 2 ** 60]),
      made([position.createdAt + '\u0000', position.room, 1]),
    ]) {
      expect(decodeSearchCursor(cursor)).toBeUndefined()
    }
  })
})
