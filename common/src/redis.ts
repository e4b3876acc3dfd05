import { createClient, createCluster } from 'redis'
import type { Logger } from './logger'
import { withTimeout } from './async'
import { dependencyErrors } from './metrics'

export type RedisClient = ReturnType<typeof createClient<{}, {}, {}, 3, {}>>
export type RedisClusterClient = ReturnType<typeof createCluster<{}, {}, {}, 3, {}>>
/**
 * One Redis, or a Redis Cluster (REDIS_CLUSTER_NODES). Single-key commands, MULTI and Lua
 * on keys of one hash slot, and plain pub/sub are called the same way on both; what
 * differs (scanning, sharded pub/sub, connection events) goes through the helpers below.
 */
export type Redis = RedisClient | RedisClusterClient

/** Where Redis is: REDIS_CLUSTER_NODES wins over REDIS_URL when set. */
export type RedisTarget =
  | { kind: 'single'; url: string }
  | { kind: 'cluster'; seeds: URL[]; topologyRefreshMs: number }

export type RedisSettings = { REDIS_URL: string; REDIS_CLUSTER_NODES: string; REDIS_CLUSTER_TOPOLOGY_REFRESH_MS: number }

export function redisTarget(config: RedisSettings): RedisTarget {
  if (config.REDIS_CLUSTER_NODES.trim() === '') return { kind: 'single', url: config.REDIS_URL }
  const seeds = config.REDIS_CLUSTER_NODES.split(',').map((seed) => new URL(seed.includes('://') ? seed.trim() : `redis://${seed.trim()}`))
  return { kind: 'cluster', seeds, topologyRefreshMs: config.REDIS_CLUSTER_TOPOLOGY_REFRESH_MS }
}

/** For messages: the URL, or the seeds, without credentials. */
export function describeRedisTarget(target: RedisTarget): string {
  return target.kind === 'single' ? target.url : `cluster ${target.seeds.map((seed) => seed.host).join(',')}`
}

const CONNECT_TIMEOUT_MS = 2000
/** What each client was made from, so a subscriber can be made the same way. */
const targets = new WeakMap<Redis, RedisTarget>()
const reconnectStrategy = (retries: number) => Math.min(50 * 2 ** retries, 2000)

/**
 * A node-redis client (or cluster client) that reconnects forever with capped backoff.
 * Commands issued while disconnected fail fast (no offline queue) so requests answer 503
 * instead of hanging.
 */
export function createRedis(target: RedisTarget, log: Logger, role = 'commands'): Redis {
  const client = target.kind === 'single' ? createSingle(target.url, true) : createClusterClient(target, true)
  targets.set(client, target)
  let down = false
  onConnectionChange(client, {
    lost(error) {
      // Every failed reconnect attempt comes here too, so the rate shows how long Redis is away.
      dependencyErrors.inc({ dependency: 'redis', source: 'connection' })
      if (!down) log.warn('redis connection lost', { role, error })
      down = true
    },
    restored() {
      if (down) log.info('redis connection restored', { role })
      down = false
    },
  })
  return client
}

function createSingle(url: string, disableOfflineQueue: boolean): RedisClient {
  return createClient<{}, {}, {}, 3, {}>({
    url,
    disableOfflineQueue,
    socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy },
  })
}

/**
 * Credentials and TLS come from the seeds' URLs and apply to every node: the cluster
 * client connects to the nodes it discovers with `defaults` only. While a node cannot be
 * reached, the slot map is read again every `topologyRefreshMs` (node-redis waits 5 s by
 * default), so a replica promoted after a master's crash is used soon after the promotion.
 */
function createClusterClient(target: Extract<RedisTarget, { kind: 'cluster' }>, disableOfflineQueue: boolean): RedisClusterClient {
  const withCredentials = target.seeds.find((seed) => seed.username !== '' || seed.password !== '')
  const tls = target.seeds.some((seed) => seed.protocol === 'rediss:')
  return createCluster<{}, {}, {}, 3, {}>({
    rootNodes: target.seeds.map((seed) => ({ url: seed.toString() })),
    defaults: {
      disableOfflineQueue,
      ...(withCredentials === undefined
        ? {}
        : { username: decodeURIComponent(withCredentials.username) || undefined, password: decodeURIComponent(withCredentials.password) }),
      socket: {
        connectTimeout: CONNECT_TIMEOUT_MS,
        // The slot map is only read again at a node's reconnect attempt, so attempts must come
        // at least twice per refresh interval for the refresh to keep its pace.
        reconnectStrategy: (retries: number) => Math.min(reconnectStrategy(retries), Math.max(100, target.topologyRefreshMs / 2)),
        ...(tls ? { tls: true as const } : {}),
      },
    },
    topologyRefreshOnReconnectionAttemptStrategy: target.topologyRefreshMs,
  })
}

export function isCluster(redis: Redis): redis is RedisClusterClient {
  return 'masters' in redis
}

/**
 * A second connection (or set of node connections) for subscribing, shared by nothing
 * else. Unlike the command client it queues while disconnected: a SUBSCRIBE issued during
 * an outage is sent on reconnect instead of being lost.
 */
export function duplicateForPubSub<R extends Redis>(redis: R): R {
  const target = targets.get(redis)
  if (target?.kind === 'cluster') return createClusterClient(target, false) as R
  if (isCluster(redis)) throw new Error('duplicateForPubSub: a cluster client not made by createRedis')
  return redis.duplicate({ disableOfflineQueue: false }) as R
}

/**
 * Connection loss and recovery, the same for both kinds: a single client reports `error`
 * and `ready`; a cluster client reports them per node (`node-error`, `node-ready`) and
 * `error` when it cannot read the slot map. `restored` is called only after a loss.
 */
export function onConnectionChange(redis: Redis, handlers: { lost(error: unknown): void; restored(): void }) {
  let lost = false
  const onLost = (error: unknown) => {
    lost = true
    handlers.lost(error)
  }
  const onReady = () => {
    if (!lost) return
    lost = false
    handlers.restored()
  }
  redis.on('error', onLost)
  if (isCluster(redis)) {
    redis.on('node-error', onLost)
    redis.on('node-ready', onReady)
  } else {
    redis.on('ready', onReady)
  }
}

/**
 * Every key matching `pattern` whose hash tag puts it on the slot of `slotKey`, in batches,
 * each batch with a client that may run a MULTI on all of its keys: on a cluster, SCAN is
 * per node, so only the master of that slot is asked.
 */
export async function* scanSlot(redis: Redis, slotKey: string, pattern: string): AsyncGenerator<{ keys: string[]; node: RedisClient }> {
  const node = isCluster(redis) ? ((await redis.getNodeClientForKey(slotKey)) as unknown as RedisClient) : redis
  for await (const batch of node.scanIterator({ MATCH: pattern, COUNT: 1000 })) {
    const keys = ([] as string[]).concat(batch)
    if (keys.length > 0) yield { keys, node }
  }
}

/** Connects, but gives up after `timeoutMs` so start-up can print a clear message. */
export async function connectRedis(client: Redis, timeoutMs = 3000): Promise<void> {
  await withTimeout(client.connect() as Promise<unknown>, timeoutMs)
}

export async function pingRedis(client: Redis, timeoutMs = 1000): Promise<boolean> {
  try {
    return client.isReady && (await withTimeout(client.ping(), timeoutMs)) === 'PONG'
  } catch {
    return false
  }
}
