import { describe, expect, test } from 'bun:test'
import { expectNever, waitUntil } from '../../../test/wait'
import { createReceiptCoalescer, type Receipt } from './receipts'

describe('receipt coalescing', () => {
  test('many moves within the window leave one burst per room with each member’s newest marker', async () => {
    const bursts: [string, Receipt[]][] = []
    const coalescer = createReceiptCoalescer(50, (roomId, receipts) => bursts.push([roomId, receipts]))
    for (let seq = 1; seq <= 100; seq++) coalescer.add('a', { userId: 'u1', seq })
    coalescer.add('a', { userId: 'u2', seq: 7 })
    coalescer.add('a', { userId: 'u2', seq: 3 })
    coalescer.add('b', { userId: 'u1', seq: 1 })
    await waitUntil(() => bursts.length === 2, 'both rooms flushed')
    expect(new Map(bursts)).toEqual(
      new Map([
        ['a', [{ userId: 'u1', seq: 100 }, { userId: 'u2', seq: 7 }]],
        ['b', [{ userId: 'u1', seq: 1 }]],
      ]),
    )
    coalescer.add('a', { userId: 'u1', seq: 101 })
    await waitUntil(() => bursts.length === 3, 'a later move flushed in a window of its own')
    expect(bursts[2]).toEqual(['a', [{ userId: 'u1', seq: 101 }]])
    coalescer.stop()
  })

  test('stopping drops what is held and sends nothing more', async () => {
    const bursts: unknown[] = []
    const coalescer = createReceiptCoalescer(10, (...args) => bursts.push(args))
    coalescer.add('a', { userId: 'u1', seq: 1 })
    coalescer.stop()
    await expectNever(() => bursts.length > 0, { message: 'a burst after stop', forMs: 50 })
  })
})
