import { createClient } from 'redis'
import type { Logger } from './logger'
import { withTimeout } from './async'
import { dependencyErrors } from './metrics'

export type Redis = ReturnType<typeof createClient<{}, {}, {}, 3, {}>>

/**
 * A node-redis client that reconnects forever with capped backoff. Commands issued while
 * disconnected fail fast (no offline queue) so requests answer 503 instead of hanging.
 */
export function createRedis(url: string, log: Logger, role = 'commands'): Redis {
  const client = createClient<{}, {}, {}, 3, {}>({
    url,
    disableOfflineQueue: true,
    socket: { connectTimeout: 2000, reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 2000) },
  })
  let down = false
  client.on('error', (error) => {
    // Every failed reconnect attempt comes here too, so the rate shows how long Redis is away.
    dependencyErrors.inc({ dependency: 'redis', source: 'connection' })
    if (!down) log.warn('redis connection lost', { role, error })
    down = true
  })
  client.on('ready', () => {
    if (down) log.info('redis connection restored', { role })
    down = false
  })
  return client
}

/** Connects, but gives up after `timeoutMs` so start-up can print a clear message. */
export async function connectRedis(client: Redis, timeoutMs = 3000): Promise<void> {
  await withTimeout(client.connect(), timeoutMs)
}

export async function pingRedis(client: Redis, timeoutMs = 1000): Promise<boolean> {
  try {
    return client.isReady && (await withTimeout(client.ping(), timeoutMs)) === 'PONG'
  } catch {
    return false
  }
}
