import { expect, test } from 'bun:test'
import type { FeedItem } from './feed-item'
import { createRoomFeed, GAP_FILL_DELAY_MS } from './room-feed'

const item = (seq: number): FeedItem => ({ seq, frame: `{"type":"message","seq":${seq}}` })

test('a hole that closes by itself costs no read from Postgres; one that stays open is read after the full delay', async () => {
  const delivered: number[] = []
  const reads: number[] = []
  const feed = createRoomFeed('r', (i) => delivered.push(i.seq), async (_room, after) => (reads.push(after), [item(after + 1)]), () => {})
  feed.start(0)
  feed.offer([item(2)])
  await Bun.sleep(GAP_FILL_DELAY_MS * 0.75)
  feed.offer([item(1), item(4)])
  expect(delivered).toEqual([1, 2])
  // The first hole's timer would have fired by now; seq 3's hole opened only half a delay ago.
  await Bun.sleep(GAP_FILL_DELAY_MS * 0.5)
  expect(reads).toEqual([])
  for (let waited = 0; reads.length === 0 && waited < 20; waited++) await Bun.sleep(GAP_FILL_DELAY_MS / 2)
  expect(reads).toEqual([2])
  expect(delivered).toEqual([1, 2, 3, 4])
  feed.stop()
})
