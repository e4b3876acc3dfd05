import { describe, expect, test } from 'bun:test'
import type { Message } from '@chat/common/chat-protocol'
import { roomEventCodec, type BrokerEvent } from './broker'
import { toFeedItem } from './feed-item'

const frame = (seq: number, body: string) => JSON.stringify({ type: 'message', room: 'r', seq, body })

describe('the room events on the wire', () => {
  test('a timeline comes back with each frame exactly as it was serialized, line breaks and separators in bodies included', () => {
    const event: BrokerEvent = {
      kind: 'timeline',
      items: [
        { seq: 7, frame: frame(7, 'two\nlines\r\nand a tab\t') },
        { seq: 8, frame: frame(8, 'separators \u2028 \u2029, quotes " and \\ backslashes') },
        { seq: 9, frame: frame(9, '') },
      ],
    }
    const wire = roomEventCodec.encode(event)
    expect(wire.split('\n')).toHaveLength(4)
    expect(roomEventCodec.decode(wire)).toEqual(event)
    for (const item of (roomEventCodec.decode(wire) as Extract<BrokerEvent, { kind: 'timeline' }>).items) expect(JSON.parse(item.frame).seq).toBe(item.seq)
  })

  test('presence, typing and receipts travel as JSON', () => {
    for (const event of [
      { kind: 'presence', userId: 'u', online: true },
      { kind: 'typing', userId: 'u' },
      { kind: 'receipt', userId: 'u', seq: 3 },
    ] satisfies BrokerEvent[]) {
      expect(roomEventCodec.encode(event)).toBe(JSON.stringify(event))
      expect(roomEventCodec.decode(roomEventCodec.encode(event))).toEqual(event)
    }
  })

  test('a timeline published as JSON by an instance of the version before is read, its items serialized here', () => {
    const message: Message = { id: crypto.randomUUID(), room: crypto.randomUUID(), seq: 4, senderId: crypto.randomUUID(), body: 'hi', clientId: 'c', createdAt: new Date().toISOString() }
    expect(roomEventCodec.decode(JSON.stringify({ kind: 'timeline', items: [message] }))).toEqual({ kind: 'timeline', items: [toFeedItem(message)] })
    expect(JSON.parse(toFeedItem(message).frame)).toEqual({ type: 'message', ...message })
  })

  test('a timeline whose seqs and frames do not match, that is cut short or carries anything but frames, is refused', () => {
    const ok = '{"type":"message"}'
    for (const wire of ['T[1,2]\n' + ok, 'T[1]', 'T[1.5]\n' + ok, 'T["1"]\n' + ok, 'T{}\n' + ok, 'T[1\n' + ok, 'T[1]\n', 'T[1,2]\nnot json\n', '{"kind":"timeline","items":[{"seq":"5"}]}', '{"kind":"timeline","items":[null]}']) {
      expect(() => roomEventCodec.decode(wire)).toThrow()
    }
  })
})
