import { describe, expect, test } from 'bun:test'
import { createReplicaHealth } from './replica'

describe('replica health', () => {
  test('a replica that never failed is always worth trying', () => {
    const health = createReplicaHealth(1000, () => 0)
    expect([health.tryUse(), health.tryUse()]).toEqual([true, true])
  })

  test('after a failure the replica is skipped for the retry period, then exactly one read probes it', () => {
    let now = 0
    const health = createReplicaHealth(1000, () => now)
    expect(health.failed()).toBe(true)
    now = 999
    expect(health.tryUse()).toBe(false)
    now = 1000
    expect([health.tryUse(), health.tryUse()]).toEqual([true, false])
  })

  test('a failed probe closes it for another period; a successful one opens it for everyone', () => {
    let now = 0
    const health = createReplicaHealth(1000, () => now)
    health.failed()
    now = 1000
    expect(health.tryUse()).toBe(true)
    expect(health.failed()).toBe(false)
    now = 1999
    expect(health.tryUse()).toBe(false)
    now = 2000
    expect(health.tryUse()).toBe(true)
    expect(health.succeeded()).toBe(true)
    expect([health.tryUse(), health.tryUse(), health.succeeded()]).toEqual([true, true, false])
  })
})
