import { describe, expect, test } from 'bun:test'
import { parseClientFrame as parseWithDepth } from './frames'

const parseClientFrame = (data: unknown) => parseWithDepth(data, 32)

const room = '4f9c5f5e-6a3f-4c1e-9a57-2d1f0b8a9e11'

describe('client frame parsing', () => {
  test('accepts each frame type of the protocol', () => {
    for (const frame of [
      { type: 'auth', token: 'x' },
      { type: 'join', room, since: 0, ref: 1 },
      { type: 'leave', room },
      { type: 'send', room, body: 'hi', clientId: 'c1', ref: 'r' },
      { type: 'typing', room },
    ]) {
      expect(parseClientFrame(frame)).toEqual({ ok: true, frame: frame as never })
    }
  })

  test('refuses non-JSON, non-objects, unknown types and wrong fields, keeping the ref', () => {
    expect(parseClientFrame('not json')).toMatchObject({ ok: false })
    expect(parseClientFrame(42)).toMatchObject({ ok: false })
    expect(parseClientFrame([1])).toMatchObject({ ok: false })
    expect(parseClientFrame({ type: 'explode', ref: 'a' })).toEqual({ ok: false, message: 'Unknown frame type "explode"', ref: 'a' })
    const wrong = parseClientFrame({ type: 'send', room, body: 5, clientId: 'c', ref: 7 })
    expect(wrong.ok).toBe(false)
    expect(wrong).toMatchObject({ ref: 7 })
    expect((wrong as { message: string }).message).toContain('/body')
    expect(parseClientFrame({ type: 'join', room: 'not-a-uuid' }).ok).toBe(false)
    expect(parseClientFrame({ type: 'join', room, since: -1 }).ok).toBe(false)
  })

  test('refuses unknown fields, as REST does', () => {
    expect(parseClientFrame({ type: 'send', room, body: 'hi', clientId: 'c1', extra: 1 })).toMatchObject({ ok: false })
    expect(parseClientFrame({ type: 'join', room, ...Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i])) })).toMatchObject({ ok: false })
  })

  test('echoes only a ref the protocol allows, never an oversized one', () => {
    expect(parseClientFrame({ type: 'explode', ref: 'x'.repeat(900_000) })).toEqual({ ok: false, message: 'Unknown frame type "explode"', ref: undefined })
    expect(parseClientFrame({ type: 'explode', ref: 1.5 })).toMatchObject({ ref: undefined })
    expect(parseClientFrame({ type: 'explode', ref: 'r1' })).toMatchObject({ ref: 'r1' })
  })

  test('a frame nested deeper than the limit is refused before it is parsed', () => {
    expect(parseClientFrame('['.repeat(400_000) + ']'.repeat(400_000))).toMatchObject({ ok: false, message: expect.stringContaining('nested') })
    expect(parseClientFrame(JSON.stringify({ type: 'leave', room }))).toEqual({ ok: true, frame: { type: 'leave', room } })
  })
})
