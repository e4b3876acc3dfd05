import { Counter, Gauge, Histogram } from 'prom-client'
import { CLOSE } from '@chat/common/chat-protocol'
import { metricsRegistry } from '@chat/common/metrics'

/** The chat's own series, next to the HTTP and process ones every service serves at /…/metrics. */
const registers = [metricsRegistry]

/** Up to the default STORE_BATCH_MAX (500); a larger configured batch lands in +Inf. */
const BATCH_SIZE_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500]
/** Up to the store's own 10 s timeout, after which a batch is answered as not stored. */
const STORE_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

export const openSockets = new Gauge({
  name: 'chat_open_sockets',
  help: 'WebSockets open on this instance, authenticated or not',
  registers,
})

export const messagesReceived = new Counter({
  name: 'chat_messages_received_total',
  help: '`send` frames received from clients, before any check',
  registers,
})

export const messagesStored = new Counter({
  name: 'chat_messages_stored_total',
  help: 'Messages newly stored by this instance (a re-sent clientId is not counted again)',
  registers,
})

export const storeBatchSize = new Histogram({
  name: 'chat_store_batch_size',
  help: 'Messages per storing transaction (group commit)',
  buckets: BATCH_SIZE_BUCKETS,
  registers,
})

export const storeDuration = new Histogram({
  name: 'chat_store_duration_seconds',
  help: 'One storing transaction, retries included, by result (stored or failed)',
  labelNames: ['result'] as const,
  buckets: STORE_DURATION_BUCKETS,
  registers,
})

/**
 * `live`: a room topic publish counts once per subscribed local socket (Bun's publish
 * returns bytes, not receivers, so the topic's subscriber count is added); `replay`: sent
 * to one socket by a `join` with `since`.
 */
export const messagesDelivered = new Counter({
  name: 'chat_messages_delivered_total',
  help: 'Message frames handed to local sockets, live (per subscribed socket) or replayed after join{since}',
  labelNames: ['path'] as const,
  registers,
})

export const brokerPublishErrors = new Counter({
  name: 'chat_broker_publish_errors_total',
  help: 'Room and user events not published to Redis, by kind (receivers catch stored messages up from Postgres)',
  labelNames: ['kind'] as const,
  registers,
})

export const catchUpReads = new Counter({
  name: 'chat_catch_up_reads_total',
  help: 'Postgres reads by room feeds for messages pub/sub did not bring: gap fills, after a broker reconnect, periodic checks',
  registers,
})

export const authFailures = new Counter({
  name: 'chat_auth_failures_total',
  help: 'Tokens refused at the upgrade or in an auth frame, by reason',
  labelNames: ['reason'] as const,
  registers,
})

export const socketCloses = new Counter({
  name: 'chat_socket_closes_total',
  help: 'Closed sockets by close code, whichever side closed',
  labelNames: ['code'] as const,
  registers,
})

/** The protocol's codes and the usual client ones keep their own series; a client can send any other. */
const KNOWN_CLOSE_CODES = new Set<number>([1000, 1001, 1005, 1006, ...Object.values(CLOSE)])

export function countSocketClose(code: number) {
  socketCloses.inc({ code: KNOWN_CLOSE_CODES.has(code) ? String(code) : 'other' })
}

/**
 * Reads that may go to the replica (history, events, replay, search), by where they went and
 * why: `replica`/`current` (it had caught up), `primary`/`behind` (it had not reached the
 * seq the caller may have seen), `primary`/`unavailable` (it failed, or failed recently),
 * `primary`/`no_replica` (DATABASE_REPLICA_URL unset). For search, `current` and `behind`
 * mean within or beyond DATABASE_REPLICA_SEARCH_MAX_LAG_MS.
 */
export const replicaReads = new Counter({
  name: 'chat_replica_reads_total',
  help: 'Reads that may use the read replica, by the database that answered and why',
  labelNames: ['source', 'reason'] as const,
  registers,
})
