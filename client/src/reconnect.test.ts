import { describe, expect, test } from 'bun:test'
import { backoffDelay, CLOSE, planReconnect } from './reconnect'

describe('reconnect policy', () => {
  test('a restarting instance (1012) is left for another one at once', () => {
    expect(planReconnect(CLOSE.SERVICE_RESTART)).toBe('now')
  })

  test('network loss, a proxy going away, auth timeout and rate limiting are retried after a backoff', () => {
    for (const code of [1006, 1001, 1011, CLOSE.AUTH_TIMEOUT, CLOSE.RATE_LIMITED]) expect(planReconnect(code)).toBe('backoff')
  })

  test('closes that need the user or the code to change are never retried', () => {
    for (const code of [CLOSE.UNAUTHENTICATED, CLOSE.REVOKED, CLOSE.BAD_FRAMES, CLOSE.FRAME_TOO_LARGE]) expect(planReconnect(code)).toBe('stop')
  })
})

describe('backoff delay', () => {
  test('stays between half and all of a ceiling that doubles per attempt', () => {
    expect([backoffDelay(0, () => 0), backoffDelay(0, () => 1)]).toEqual([250, 500])
    expect([backoffDelay(1, () => 0), backoffDelay(1, () => 1)]).toEqual([500, 1000])
    expect([backoffDelay(3, () => 0), backoffDelay(3, () => 1)]).toEqual([2000, 4000])
  })

  test('never exceeds the maximum, however many attempts failed', () => {
    for (const attempt of [5, 6, 10, 100, 10_000]) {
      expect(backoffDelay(attempt, () => 1)).toBe(15_000)
      expect(backoffDelay(attempt, () => 0)).toBe(7_500)
    }
  })

  test('grows with each attempt until it reaches the maximum', () => {
    const delays = Array.from({ length: 8 }, (_, attempt) => backoffDelay(attempt, () => 0.5))
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1])
    expect(delays.at(-1)).toBe(backoffDelay(100, () => 0.5))
  })
})
