import { describe, expect, test } from 'bun:test'
import { parseClientFrame } from './frames'

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
})
