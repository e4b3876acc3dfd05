import { describe, expect, test } from 'bun:test'
import { commitCost, curveFigures, limits, quantile, shardCost, type UnitCosts } from './scale-model'

describe('bench:scale arithmetic', () => {
  test('quantile picks the nearest-rank value and is NaN for no samples', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1)
    expect(quantile(sorted, 0.5)).toBe(50)
    expect(quantile(sorted, 0.99)).toBe(99)
    expect(quantile(sorted, 1)).toBe(100)
    expect(quantile([7], 0.99)).toBe(7)
    expect(quantile([], 0.5)).toBeNaN()
  })

  test('a curve row turns counts and CPU seconds into rates per instance and CPU per 1000 deliveries', () => {
    const f = curveFigures({ instances: 2, windowSeconds: 5, delivered: 100_000, messages: 10_000, cpu: { chat: 2, redis: 0.5, postgres: 1 }, idleSeconds: { chat: 0.5, redis: 0.25, postgres: 0 } })
    expect(f.deliveredPerSecond).toBe(20_000)
    expect(f.deliveredPerSecondPerInstance).toBe(10_000)
    // 3.5 CPU seconds over 100,000 deliveries: 35 µs each, i.e. 35 ms per 1000.
    expect(f.cpuMsPer1000).toBeCloseTo(35)
    expect(f.chatUsPerDelivery).toBeCloseTo(20)
    // 0.5 s of the chat's 2 s would have been spent idle anyway.
    expect(f.net.chatUsPerDelivery).toBeCloseTo(15)
    expect(f.net.redisUsPerMessage).toBeCloseTo(25)
    expect(f.net.cpuMsPer1000).toBeCloseTo(27.5)
    expect(f.redisUsPerMessage).toBeCloseTo(50)
    expect(f.postgresUsPerMessage).toBeCloseTo(100)
    expect(curveFigures({ instances: 1, windowSeconds: 1, delivered: 0, messages: 0, cpu: { chat: 1, redis: 0, postgres: 0 } }).cpuMsPer1000).toBeNaN()
  })

  test('two subscriber counts split a shard cost into a fixed part and a part per subscriber', () => {
    // 1 µs + 0.5 µs × k: 1.5 µs at k = 1, 2.5 µs at k = 3.
    const cost = shardCost(1, 1.5, 3, 2.5)
    expect(cost.perSubscriberUs).toBeCloseTo(0.5)
    expect(cost.perPublishUs).toBeCloseTo(1)
    expect(() => shardCost(2, 1, 2, 1)).toThrow()
  })

  test('two batch sizes split Postgres cost into a part per commit and a part per message', () => {
    // 4000 µs per commit + 100 µs per message: 4100 µs alone, 108 µs in batches of 500.
    const cost = commitCost(1, 4100, 500, 108)
    expect(cost.perCommitUs).toBeCloseTo(4000)
    expect(cost.perMessageUs).toBeCloseTo(100)
    expect(() => commitCost(10, 1, 10, 1)).toThrow()
  })

  const costs: UnitCosts = { chatUsPerDelivery: 10, chatUsPerExtraInstance: 0, redisPerPublishUs: 1, redisPerSubscriberUs: 1, postgresMessagesPerSecond: 5000 }

  test('with a large fan-out the chat hosts saturate first, and adding hosts raises the limit linearly', () => {
    const one = limits(costs, { hosts: 1, coresPerHost: 2, shards: 1, fanOut: 100, headroom: 1 })
    // 2 cores / (100 deliveries × 10 µs) = 2000 messages/s = 200,000 deliveries/s.
    expect(one.chat).toBeCloseTo(2000)
    expect(one.first).toBe('chat')
    expect(one.deliveriesPerSecond).toBeCloseTo(200_000)
    expect(limits(costs, { hosts: 2, coresPerHost: 2, shards: 1, fanOut: 100, headroom: 1 }).chat).toBeCloseTo(4000)
  })

  test('each further instance a room spans adds its per-message cost to the chat limit', () => {
    const spread = limits({ ...costs, chatUsPerExtraInstance: 500 }, { hosts: 3, coresPerHost: 2, shards: 1, fanOut: 100, headroom: 1 })
    // 3 hosts × 2 cores / (100 × 10 µs + 2 × 500 µs) = 3000 messages/s, against 6000 without the extra cost.
    expect(spread.instancesPerRoom).toBe(3)
    expect(spread.chat).toBeCloseTo(3000)
  })

  test('with a small fan-out Postgres saturates first, whatever the number of hosts', () => {
    const dm = limits(costs, { hosts: 10, coresPerHost: 4, shards: 1, fanOut: 2, headroom: 0.5 })
    expect(dm.first).toBe('postgres')
    expect(dm.messagesPerSecond).toBeCloseTo(2500)
    expect(dm.deliveriesPerSecond).toBeCloseTo(5000)
  })

  test('Redis pays per instance a room spans, and shards multiply its limit', () => {
    const cheapDb = { ...costs, postgresMessagesPerSecond: 1e9 }
    const wide = limits(cheapDb, { hosts: 50, coresPerHost: 16, shards: 1, fanOut: 1000, headroom: 1 })
    // k = min(50, 1000) = 50 instances per room: 1 + 50 µs per message.
    expect(wide.instancesPerRoom).toBe(50)
    expect(wide.redis).toBeCloseTo(1e6 / 51)
    expect(wide.first).toBe('redis')
    expect(limits(cheapDb, { hosts: 50, coresPerHost: 16, shards: 4, fanOut: 1000, headroom: 1 }).redis).toBeCloseTo((4 * 1e6) / 51)
  })
})
