/**
 * The arithmetic of `bun run bench:scale` and of the capacity model in docs/SCALING.md,
 * kept free of I/O so a unit test can check it.
 *
 * Everything here reasons from CPU time per unit of work (per delivery, per message, per
 * Redis fan-out), not from the throughput a run reached: on a small shared machine the
 * throughput says how busy the machine was, while CPU per unit of work stays put.
 */

/** The value at quantile `q` (0–1) of ascending `sorted`, nearest-rank; NaN when empty. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length
  if (n === 0) return Number.NaN
  return sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]
}

/** CPU seconds each part used during a measured window (user + system, all threads, from /proc). */
export type PartSeconds = { chat: number; redis: number; postgres: number }

/** What one row of the curve counted inside its measured window. */
export type CurveCounts = {
  instances: number
  windowSeconds: number
  /** Message frames receivers got. */
  delivered: number
  /** Sends acknowledged (stored, numbered, published). */
  messages: number
  cpu: PartSeconds
  /** CPU seconds each part spends idle (timers, heartbeats, GC, periodic queries) over as long as the window. */
  idleSeconds?: PartSeconds
}

export type CurveFigures = {
  deliveredPerSecond: number
  deliveredPerSecondPerInstance: number
  /** Chat processes + Redis + Postgres, CPU ms per 1000 deliveries (= µs per delivery). */
  cpuMsPer1000: number
  chatUsPerDelivery: number
  redisUsPerMessage: number
  postgresUsPerMessage: number
  /** The same less each part's idle CPU: what the work itself costs, whatever the throughput. */
  net: { cpuMsPer1000: number; chatUsPerDelivery: number; redisUsPerMessage: number; postgresUsPerMessage: number }
}

const perUnit = (seconds: number, count: number) => (count === 0 ? Number.NaN : (seconds / count) * 1e6)

export function curveFigures(row: CurveCounts): CurveFigures {
  const units = (cpu: PartSeconds) => ({
    // ms per 1000 deliveries is numerically µs per delivery.
    cpuMsPer1000: perUnit(cpu.chat + cpu.redis + cpu.postgres, row.delivered),
    chatUsPerDelivery: perUnit(cpu.chat, row.delivered),
    redisUsPerMessage: perUnit(cpu.redis, row.messages),
    postgresUsPerMessage: perUnit(cpu.postgres, row.messages),
  })
  const idle = row.idleSeconds ?? { chat: 0, redis: 0, postgres: 0 }
  const deliveredPerSecond = row.delivered / row.windowSeconds
  return {
    deliveredPerSecond,
    deliveredPerSecondPerInstance: deliveredPerSecond / row.instances,
    ...units(row.cpu),
    net: units({
      chat: Math.max(0, row.cpu.chat - idle.chat),
      redis: Math.max(0, row.cpu.redis - idle.redis),
      postgres: Math.max(0, row.cpu.postgres - idle.postgres),
    }),
  }
}

/**
 * A shard's cost from two measurements of the same command with k1 and k2 subscribers
 * (µs of Redis CPU per publish): the fixed part (parse, look up the channel, reply) and
 * the part per subscriber (write the message to one more connection).
 */
export function shardCost(k1: number, usPerPublish1: number, k2: number, usPerPublish2: number): { perPublishUs: number; perSubscriberUs: number } {
  if (k1 === k2) throw new Error('shardCost needs two different subscriber counts')
  const perSubscriberUs = Math.max(0, (usPerPublish2 - usPerPublish1) / (k2 - k1))
  return { perPublishUs: Math.max(0, usPerPublish1 - perSubscriberUs * k1), perSubscriberUs }
}

/**
 * Postgres' cost from two batch sizes (µs of backend CPU per message at B1 and B2 messages
 * per commit): per message = perCommit / B + perMessage.
 */
export function commitCost(b1: number, usPerMessage1: number, b2: number, usPerMessage2: number): { perCommitUs: number; perMessageUs: number } {
  if (b1 === b2) throw new Error('commitCost needs two different batch sizes')
  const perCommitUs = Math.max(0, (usPerMessage1 - usPerMessage2) / (1 / b1 - 1 / b2))
  return { perCommitUs, perMessageUs: Math.max(0, usPerMessage1 - perCommitUs / b1) }
}

/** The measured unit costs the model scales (this machine's figures in docs/SCALING.md). */
export type UnitCosts = {
  /** Chat CPU per delivered frame with a room on one instance, at the fan-out it was measured with (the message's own work included). */
  chatUsPerDelivery: number
  /** Chat CPU per message for each further instance a room spans (it reads the message from Redis and frames it once more). */
  chatUsPerExtraInstance: number
  /** Redis CPU per published message, plus per chat instance subscribed to its room. */
  redisPerPublishUs: number
  redisPerSubscriberUs: number
  /** Messages per second one Postgres primary stores through the group-commit path, flat out. */
  postgresMessagesPerSecond: number
}

export type Deployment = {
  /** Chat hosts, one instance per core or one per host: what counts is the cores. */
  hosts: number
  coresPerHost: number
  /** Redis masters (1: a single Redis; more: a cluster with sharded pub/sub). */
  shards: number
  /** Sockets in a room that receive each message (the room's online members). */
  fanOut: number
  /** The share of each core the model lets a process use before it counts as full. */
  headroom: number
}

export type Limits = {
  /** Messages per second each resource allows; deliveries are these × fanOut. */
  chat: number
  redis: number
  postgres: number
  /** The smallest of the three, and which one it is. */
  messagesPerSecond: number
  deliveriesPerSecond: number
  first: 'chat' | 'redis' | 'postgres'
  /** Chat instances a room's sockets span on average: min(hosts, fanOut) when spread evenly. */
  instancesPerRoom: number
}

/**
 * Messages per second N hosts carry before one resource is full:
 *
 *   chat      M ≤ N · C · h / (F · d + (k − 1) · e)   d: chat µs per delivery, e: per extra instance
 *   redis     M ≤ S · h / (p + k · s)          k = min(N, F): instances subscribed per room
 *   postgres  M ≤ P                             P: group-commit messages/s of one primary
 *
 * Redis is single-threaded, so one shard is one core whatever the host has. Rooms spread
 * over shards by their ids (sharded pub/sub), so S shards carry S times one shard.
 */
export function limits(costs: UnitCosts, d: Deployment): Limits {
  const instancesPerRoom = Math.min(d.hosts, d.fanOut)
  const chat = (d.hosts * d.coresPerHost * d.headroom * 1e6) / (d.fanOut * costs.chatUsPerDelivery + (instancesPerRoom - 1) * costs.chatUsPerExtraInstance)
  const redis = (d.shards * d.headroom * 1e6) / (costs.redisPerPublishUs + instancesPerRoom * costs.redisPerSubscriberUs)
  const postgres = costs.postgresMessagesPerSecond * d.headroom
  const candidates = [
    ['chat', chat],
    ['redis', redis],
    ['postgres', postgres],
  ] as const
  const [first, messagesPerSecond] = candidates.reduce((low, next) => (next[1] < low[1] ? next : low))
  return { chat, redis, postgres, messagesPerSecond, deliveriesPerSecond: messagesPerSecond * d.fanOut, first, instancesPerRoom }
}
