import { describe, expect, test } from 'bun:test'
import { createTokenBucket, createWindowCounter } from './limits'

describe('token bucket', () => {
  test('allows a burst of its capacity, then refills at its rate', () => {
    const bucket = createTokenBucket(600, 300, 0)
    let allowed = 0
    for (let i = 0; i < 700; i++) if (bucket.take(0)) allowed++
    expect(allowed).toBe(600)
    expect(bucket.take(1)).toBe(false)
    // 100 ms later, 30 more.
    let refilled = 0
    for (let i = 0; i < 50; i++) if (bucket.take(100)) refilled++
    expect(refilled).toBe(30)
  })

  test('never holds more than its capacity after a long pause', () => {
    const bucket = createTokenBucket(5, 300, 0)
    let allowed = 0
    for (let i = 0; i < 10; i++) if (bucket.take(60_000)) allowed++
    expect(allowed).toBe(5)
  })
})

describe('sliding window counter', () => {
  test('reports the limit reached only for events inside the window', () => {
    const counter = createWindowCounter(3, 1000)
    expect(counter.record(0)).toBe(false)
    expect(counter.record(10)).toBe(false)
    expect(counter.record(1500)).toBe(false)
    expect(counter.record(1600)).toBe(false)
    expect(counter.record(1700)).toBe(true)
  })
})
