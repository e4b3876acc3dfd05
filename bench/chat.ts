/**
 * Real-time fan-out of the chat service (two instances) side by side with what a team
 * gets by default from Socket.IO and its official Redis adapter (two servers), measured
 * in one run on one machine so the rows compare: messages sent and delivered per second,
 * delivery latency, and whether every receiver got every message once and in order.
 *
 * Every row has the same shape: M sender sockets and N receiver sockets, both split
 * across the two instances and connected to them directly (not through Caddy), so every
 * message crosses Redis to reach half of its receivers. Senders do not join the room
 * (their own copies would count as deliveries); receivers do. A message's body starts
 * with its send time, so each receiver knows the message's latency. Each receiver checks
 * every stream it must see: the chat's per-room `seq`, and for Socket.IO, which numbers
 * nothing, a counter per sender (its only order guarantee is per connection, and with
 * nothing stored a lost message is simply gone).
 *
 *   bun run bench:chat                      10 s per row
 *   BENCH_SECONDS=5 bun run bench:chat      shorter rows
 *   BENCH_ROWS=chat,sio bun run bench:chat  only those rows
 *
 * Settings (environment): BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (2), BENCH_SENDERS (4),
 * BENCH_RECEIVERS (40), BENCH_RATE (50 messages/s per sender), BENCH_WINDOW (32 sends in
 * flight per sender, for the -max rows: fewer leave the chat waiting on its commit latency
 * rather than on the machine), BENCH_ROOMS (4, for the -rooms rows),
 * BENCH_BODY_CHARS (100), BENCH_PAIR_ROUNDS (3), BENCH_SIO_RUNTIME (bun | node: what runs the Socket.IO servers),
 * BENCH_CPU_PROF (a folder: each service of the stack writes a Markdown CPU profile there when
 * it stops; the chat instances' process ids are printed), BENCH_ROWS (comma-separated row ids; default all): chat, chat-changes, sio, sio-pg,
 * chat-rooms, sio-rooms, chat-max, sio-max, sio-pg-max, and the peer shapes chat-all,
 * sio-all, sio-node-all, bare-all, chat-dm, sio-dm, sio-node-dm, bare-dm.
 *
 * `chat-changes` is the `chat` row plus, with every tenth message, a change to one of the
 * sender's acknowledged messages, alternately an edit and a reaction over REST. The
 * message load is the `chat` row's exactly (same sends, same rate), so the two rows differ
 * only by the changes; receivers must then get every seq of the room (messages and events)
 * once and in order. When both run, they run BENCH_PAIR_ROUNDS (3) times each, alternately
 * (chat, chat-changes, chat-changes, chat, …), each row's latencies pooled over its rounds,
 * and the report ends with the difference between the two.
 *
 * The peer shapes (`-all`, `-dm`) drop the sender/receiver split: every client joins its
 * room and sends bursts as fast as acks allow (the next burst once the whole previous one
 * is acknowledged), and receives everything of its room, its own messages included.
 * `-all`: BENCH_PEER_ROOMS (4) rooms × BENCH_PEER_CLIENTS (16) clients, bursts of
 * BENCH_PEER_BURST (20). `-dm`: BENCH_DM_ROOMS (100) rooms of 2 clients, bursts of
 * BENCH_DM_BURST (10). Clients alternate between the two instances (a DM's two clients sit
 * on different instances). Compared with Socket.IO + Redis adapter on Bun (`sio-`, or
 * BENCH_SIO_RUNTIME) and on Node (`sio-node-`), and with bare `Bun.serve` topic pub/sub
 * (`bare-`: one process, nothing stored, no Redis: an upper bound, not a peer).
 */
import { cpus } from 'node:os'
import { join, resolve } from 'node:path'
import { io, type Socket } from 'socket.io-client'
import { ChatConfig } from '../chat/src/config'
import type { Child } from '../scripts/child'
import { findFreePorts, waitFor } from '../scripts/net'
import { REPO_ROOT } from '../scripts/stack'
import { call, login, register, type Account } from '../scripts/api-client'
import { claimRedisDb, startTestStack, type TestStack } from '../scripts/test-stack'
import { connect, joinRoom, type Frame, type SocketClient } from '../scripts/ws-client'
import { databaseBackends, measureCpu, pidsByCommand, type Component, type CpuUsage } from './cpu'
import { atCleanUp, inChunks, runBench, startChild, workDir } from './lifecycle'
import { backgroundLoad, busyCores, disturbedMark, disturbedNote, markdownTable, ms, percent, reportHeader, restCores, versionOf } from './report'
import { quantile } from './scale-model'
import { CONNECT_CONCURRENCY, DRAIN_POLL_MS, DRAIN_TIMEOUT_MS, positiveInt, PREPARE_CONCURRENCY, SECONDS, SETTLE_MS, UNLIMITED_SENDS, WARMUP_SECONDS, wantedRow } from './settings'
import type { BareFrame } from './bare-server'
import type { RestAnswer, RestRequest } from './rest-worker'
import type { Ack, MessagePayload, SendPayload } from './socketio-server'

const SENDERS = positiveInt('BENCH_SENDERS', 4)
const RECEIVERS = positiveInt('BENCH_RECEIVERS', 40)
const RATE = positiveInt('BENCH_RATE', 50)
const WINDOW = positiveInt('BENCH_WINDOW', 32)
const ROOMS = positiveInt('BENCH_ROOMS', 4)
const BODY_CHARS = positiveInt('BENCH_BODY_CHARS', 100)
const PEER_ROOMS = positiveInt('BENCH_PEER_ROOMS', 4)
const PEER_CLIENTS = positiveInt('BENCH_PEER_CLIENTS', 16)
const PEER_BURST = positiveInt('BENCH_PEER_BURST', 20)
const DM_ROOMS = positiveInt('BENCH_DM_ROOMS', 100)
const DM_BURST = positiveInt('BENCH_DM_BURST', 10)
/** A folder: every service of the stack writes a CPU profile there (Markdown, `bun --cpu-prof-md`) when it stops. */
const CPU_PROFILE_DIR = process.env.BENCH_CPU_PROF ?? ''
const SIO_RUNTIME = sioRuntime(process.env.BENCH_SIO_RUNTIME ?? 'bun')
function sioRuntime(value: string): 'bun' | 'node' {
  if (value === 'bun' || value === 'node') return value
  console.error(`bench: BENCH_SIO_RUNTIME must be bun or node (got ${JSON.stringify(value)})`)
  process.exit(1)
}

/** Both instances of each system; receivers and senders alternate between them. */
const INSTANCES = 2
/** Below the chat's 20 sockets per user, with room for the previous row's sockets still being released. */
const RECEIVER_SOCKETS_PER_USER = 10
/** The chat's default token bucket per socket, from its config schema (docs/websocket-protocol.md). */
const CHAT_SEND_PER_SECOND = ChatConfig.properties.SEND_PER_SECOND.default
/** The pacer's tick: each sender sends whatever its rate says is due since the last one. */
const PACER_INTERVAL_MS = 2
const PROCESS_READY_TIMEOUT_MS = 15_000

type System = 'chat' | 'sio' | 'sio-pg' | 'sio-node' | 'bare'
/**
 * rate: open loop, each sender at a fixed rate; window: each sender keeps `size` sends in
 * flight; burst: each peer sends `size`, then the next `size` once all are acknowledged.
 */
type Mode = { kind: 'rate'; perSender: number } | { kind: 'window'; size: number } | { kind: 'burst'; size: number }
/** `peers`: every client sends and receives (`perRoom` clients per room) instead of the sender/receiver split. */
type Row = { id: string; name: string; system: System; rooms: number; mode: Mode; changes: boolean; peers: { perRoom: number } | null }

const SYSTEM_NAMES: Record<System, string> = {
  chat: 'chat ×2 (stored, seq)',
  sio: `Socket.IO ×2 + Redis adapter (${SIO_RUNTIME})`,
  'sio-pg': `Socket.IO ×2 + INSERT per message (${SIO_RUNTIME})`,
  'sio-node': 'Socket.IO ×2 + Redis adapter (node)',
  bare: 'bare Bun.serve pub/sub ×1 (nothing stored)',
}
const modeName = (mode: Mode) =>
  mode.kind === 'rate' ? `${mode.perSender}/s per sender` : mode.kind === 'window' ? `window ${mode.size}` : `bursts of ${mode.size}`
const rowOf = (id: string, system: System, rooms: number, mode: Mode, options: { changes?: boolean; peersPerRoom?: number } = {}): Row => {
  const changes = options.changes ?? false
  const peers = options.peersPerRoom === undefined ? null : { perRoom: options.peersPerRoom }
  const roomsName = `${rooms === 1 ? '1 room' : `${rooms} rooms`}${peers === null ? '' : ` × ${peers.perRoom} clients sending and receiving`}`
  return { id, system, rooms, mode, changes, peers, name: `${SYSTEM_NAMES[system]}, ${roomsName}, ${modeName(mode)}${changes ? ', + an edit or reaction per 10' : ''}` }
}
/** In the -changes row, every CHANGE_EVERY-th message is followed by an edit or a reaction. */
const CHANGE_EVERY = 10
const REACTION_EMOJI = ['👍', '🎉', '😀', '❤️', '🚀']
const rate: Mode = { kind: 'rate', perSender: RATE }
const windowed: Mode = { kind: 'window', size: WINDOW }
const peerBurst: Mode = { kind: 'burst', size: PEER_BURST }
const dmBurst: Mode = { kind: 'burst', size: DM_BURST }
const ALL_ROWS: Row[] = [
  rowOf('chat', 'chat', 1, rate),
  rowOf('chat-changes', 'chat', 1, rate, { changes: true }),
  rowOf('sio', 'sio', 1, rate),
  rowOf('sio-pg', 'sio-pg', 1, rate),
  rowOf('chat-rooms', 'chat', ROOMS, rate),
  rowOf('sio-rooms', 'sio', ROOMS, rate),
  rowOf('chat-max', 'chat', 1, windowed),
  rowOf('sio-max', 'sio', 1, windowed),
  rowOf('sio-pg-max', 'sio-pg', 1, windowed),
  rowOf('chat-all', 'chat', PEER_ROOMS, peerBurst, { peersPerRoom: PEER_CLIENTS }),
  rowOf('sio-all', 'sio', PEER_ROOMS, peerBurst, { peersPerRoom: PEER_CLIENTS }),
  rowOf('sio-node-all', 'sio-node', PEER_ROOMS, peerBurst, { peersPerRoom: PEER_CLIENTS }),
  rowOf('bare-all', 'bare', PEER_ROOMS, peerBurst, { peersPerRoom: PEER_CLIENTS }),
  rowOf('chat-dm', 'chat', DM_ROOMS, dmBurst, { peersPerRoom: 2 }),
  rowOf('sio-dm', 'sio', DM_ROOMS, dmBurst, { peersPerRoom: 2 }),
  rowOf('sio-node-dm', 'sio-node', DM_ROOMS, dmBurst, { peersPerRoom: 2 }),
  rowOf('bare-dm', 'bare', DM_ROOMS, dmBurst, { peersPerRoom: 2 }),
]
const ROWS = ALL_ROWS.filter((row) => wantedRow(row.id))
const ALL_ROW_IDS = ALL_ROWS.map((row) => row.id)

type Summary = { count: number; p50: number; p99: number; max: number }

const summarize = (values: Float64Array): Summary => {
  const sorted = values.slice().sort()
  return { count: sorted.length, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: quantile(sorted, 1) }
}

/** Latencies in ms, appended as they come. */
function createSamples() {
  let data = new Float64Array(1 << 16)
  let length = 0
  return {
    push(value: number) {
      if (length === data.length) {
        const grown = new Float64Array(data.length * 2)
        grown.set(data)
        data = grown
      }
      data[length++] = value
    },
    values: () => data.subarray(0, length),
  }
}

type StreamState = { highest: number; seen: Uint8Array; unique: number }

/**
 * What one receiver saw of each stream it must get in full (the chat: a room's seq;
 * Socket.IO: one sender's counter), numbered 1, 2, 3, …: a number seen twice is a
 * duplicate, one arriving after a higher one is out of order, one never seen is lost.
 */
function createStreamCheck() {
  const streams = new Map<string, StreamState>()
  let duplicates = 0
  let outOfOrder = 0
  return {
    see(stream: string, n: number) {
      let state = streams.get(stream)
      if (state === undefined) streams.set(stream, (state = { highest: 0, seen: new Uint8Array(1024), unique: 0 }))
      if (n >= state.seen.length) {
        const grown = new Uint8Array(Math.max(n + 1, state.seen.length * 2))
        grown.set(state.seen)
        state.seen = grown
      }
      if (state.seen[n] === 1) return void duplicates++
      state.seen[n] = 1
      state.unique++
      if (n < state.highest) outOfOrder++
      else state.highest = n
    },
    /** Numbers 1..count of `stream` (less `excused` ones that were never broadcast) not seen yet. */
    missing(stream: string, count: number, excused = 0): number {
      const state = streams.get(stream)
      let seen = 0
      if (state !== undefined) for (let n = 1; n <= count && n < state.seen.length; n++) seen += state.seen[n]
      return Math.max(0, count - excused - seen)
    },
    get duplicates() {
      return duplicates
    },
    get outOfOrder() {
      return outOfOrder
    },
  }
}
type StreamCheck = ReturnType<typeof createStreamCheck>

/** What a row counts while it runs; only what happens inside the measured window goes into rates and latencies. */
function createTally() {
  let windowStart = Infinity
  let windowEnd = Infinity
  const inWindow = (t: number) => t >= windowStart && t < windowEnd
  const delivery = createSamples()
  const ack = createSamples()
  const change = createSamples()
  const problems = new Map<string, number>()
  let delivered = 0
  let acked = 0
  let changed = 0
  return {
    openWindow(start: number, end: number) {
      windowStart = start
      windowEnd = end
    },
    delivered(sentAt: number) {
      const now = performance.now()
      if (inWindow(now)) delivered++
      if (inWindow(sentAt)) delivery.push(now - sentAt)
    },
    acked(sentAt: number) {
      const now = performance.now()
      if (inWindow(now)) acked++
      if (inWindow(sentAt)) ack.push(now - sentAt)
    },
    /** A change (the -changes row's REST call) answered 2xx, `ms` after it started (timed by the thread that made it). */
    changed(startedAt: number, ms: number) {
      if (inWindow(performance.now())) changed++
      if (inWindow(startedAt)) change.push(ms)
    },
    problem(what: string) {
      problems.set(what, (problems.get(what) ?? 0) + 1)
    },
    result: () => ({ delivered, acked, changed, samples: { delivery: delivery.values(), ack: ack.values(), change: change.values() }, problems }),
  }
}
type Tally = ReturnType<typeof createTally>

/** Sends the body's leading number: the send time on this process's clock (receivers run here too). */
const bodyAt = (sentAt: number) => {
  const stamp = sentAt.toFixed(3) + ' '
  return stamp + 'x'.repeat(Math.max(1, BODY_CHARS - stamp.length))
}
const sentAtOf = (body: string) => parseFloat(body)

type Receiver = { close(): Promise<void> }
/** `extraInFlight`: work the row adds beside the counted sends (the -changes row's REST calls) still unanswered. */
type Sender = { send(n: number, sentAt: number): void; extraInFlight(): number; close(): Promise<void> }
type OnAck = (n: number, ok: boolean) => void

/** One system under test, driven the same way for every row. */
type Driver = {
  createRooms(row: Row): Promise<string[]>
  openReceiver(index: number, room: string, check: StreamCheck, tally: Tally): Promise<Receiver>
  /** `onAck(n, ok)` once the server answered send number `n`. */
  openSender(index: number, room: string, tally: Tally, onAck: OnAck, row: Row): Promise<Sender>
  /** A client of a peer row: one socket that joins `room`, sends, and receives everything of the room. */
  openPeer(index: number, room: string, check: StreamCheck, tally: Tally, onAck: OnAck): Promise<Sender>
  /** After the sends: the streams each room's receivers must have got in full, with their lengths. */
  expectedStreams(rooms: string[], senders: SenderState[]): Promise<Map<string, { stream: string; count: number; excused: number }[]>>
  /** Messages per Postgres commit over the row, or null when nothing is stored. */
  messagesPerCommit(rooms: string[]): Promise<number | null>
  /** The processes that serve this system, for CPU accounting. */
  serverPids(): number[]
}

/** Peer `index` of a peer row is client `index % perRoom` of room `floor(index / perRoom)`. */
const peerRoomIndex = (row: Row, index: number) => Math.floor(index / row.peers!.perRoom)

/** The -changes row's REST calls go through one Worker (see rest-worker.ts), ended at clean-up. */
function startRestWorker() {
  const worker = new Worker(join(import.meta.dir, 'rest-worker.ts'))
  const waiting = new Map<number, (answer: RestAnswer) => void>()
  let lastId = 0
  worker.onmessage = (event: MessageEvent<RestAnswer>) => {
    waiting.get(event.data.id)?.(event.data)
    waiting.delete(event.data.id)
  }
  // A worker that fails answers every call it holds as not made (status 0), so no round waits for them.
  worker.onerror = (event) => {
    for (const [id, resolve] of waiting) resolve({ id, status: 0, error: `the REST worker failed: ${event.message}`, ms: 0 })
    waiting.clear()
  }
  atCleanUp(async () => worker.terminate())
  return {
    call(request: Omit<RestRequest, 'id'>): Promise<RestAnswer> {
      const id = ++lastId
      return new Promise((resolve) => {
        waiting.set(id, resolve)
        worker.postMessage({ ...request, id })
      })
    },
  }
}

/**
 * `senderAccounts`/`receiverAccounts` serve the split rows; peer rows spread their clients
 * over `peerAccounts` (client i is user i mod their number, at most
 * RECEIVER_SOCKETS_PER_USER sockets each), so each room's members are its clients' users.
 */
function chatDriver(stack: TestStack, senderAccounts: Tokened[], receiverAccounts: Tokened[], peerAccounts: Tokened[]): Driver {
  const instances = stack.instancesOf('chat')
  const peerAccount = (index: number) => peerAccounts[index % peerAccounts.length]
  // Started on first use: only the -changes row needs it.
  let restCalls: ReturnType<typeof startRestWorker> | null = null
  const restWorker = () => (restCalls ??= startRestWorker())
  const createRoom = async (row: Row, r: number, users: Tokened[]) => {
    const [owner, ...others] = users
    const created = await call(stack.url, 'POST', '/chat/rooms', { token: owner.accessToken, body: { name: `bench ${row.id} ${r} ${Date.now()}` } })
    if (created.status !== 201) throw new Error(`bench: creating a room answered ${created.status}: ${JSON.stringify(created.body)}`)
    for (const member of others) {
      const joined = await call(stack.url, 'POST', `/chat/rooms/${created.body.id}/join`, { token: member.accessToken })
      if (joined.status !== 204) throw new Error(`bench: joining a room answered ${joined.status}: ${JSON.stringify(joined.body)}`)
    }
    return created.body.id as string
  }
  /** Frames a socket gets: acks of its sends, the room's stream, errors. */
  const onFrames = (client: SocketClient, role: string, tally: Tally, handlers: { check?: StreamCheck; onAck?: (n: number, ok: boolean, id: string) => void }) => {
    // The test client keeps every frame; here they are only counted.
    client.frames.length = 0
    const { check, onAck } = handlers
    client.ws.onmessage = (event) => {
      const frame: Frame = JSON.parse(String(event.data))
      if (frame.type === 'message') {
        if (check === undefined) return
        check.see(frame.room, frame.seq)
        tally.delivered(sentAtOf(frame.body))
      } else if (frame.type === 'event') check?.see(frame.room, frame.seq)
      else if (frame.type === 'ack') onAck?.(frame.ref, true, frame.id)
      else if (frame.type === 'error') {
        tally.problem(`${role} error ${frame.code}`)
        if (typeof frame.ref === 'number') onAck?.(frame.ref, false, '')
      }
    }
  }
  const sendFrame = (ws: WebSocket, room: string, clientPrefix: string, n: number, sentAt: number) =>
    ws.send(JSON.stringify({ type: 'send', room, body: bodyAt(sentAt), clientId: `${clientPrefix}-${n}`, ref: n }))

  return {
    async createRooms(row) {
      const accounts = row.peers === null ? [...senderAccounts, ...receiverAccounts] : peerAccounts
      // Fresh tokens for every row: access tokens live 15 minutes, a long run outlives them.
      await inChunks(accounts, PREPARE_CONCURRENCY, async (account) => {
        account.accessToken = (await login(stack.url, account)).accessToken
      })
      const indexes = Array.from({ length: row.rooms }, (_, r) => r)
      if (row.peers === null) return inChunks(indexes, PREPARE_CONCURRENCY, (r) => createRoom(row, r, accounts))
      const { perRoom } = row.peers
      return inChunks(indexes, PREPARE_CONCURRENCY, (r) =>
        createRoom(row, r, [...new Set(Array.from({ length: perRoom }, (_, k) => peerAccount(r * perRoom + k)))]),
      )
    },
    async openReceiver(index, room, check, tally) {
      const account = receiverAccounts[Math.floor(index / RECEIVER_SOCKETS_PER_USER)]
      const client = await connect(instances[index % INSTANCES].url, account.accessToken)
      await joinRoom(client, room)
      onFrames(client, 'receiver', tally, { check })
      return closerOf(client.ws, client.closed, tally, 'receiver')
    },
    async openSender(index, room, tally, onAck, row) {
      const instance = instances[index % INSTANCES]
      const account = senderAccounts[index]
      const client = await connect(instance.url, account.accessToken)
      /** The sender's acknowledged messages, which the -changes row edits and reacts to. */
      const acked: string[] = []
      onFrames(client, 'sender', tally, {
        onAck(n, ok, id) {
          if (ok) acked.push(id)
          onAck(n, ok)
        },
      })
      let changesInFlight = 0
      const change = (n: number, target: string) => {
        const edit = (n / CHANGE_EVERY) % 2 === 0
        const path = `/chat/rooms/${room}/messages/${target}${edit ? '' : `/reactions/${encodeURIComponent(REACTION_EMOJI[n % REACTION_EMOJI.length])}`}`
        changesInFlight++
        const startedAt = performance.now()
        void restWorker()
          .call({ url: instance.url, method: edit ? 'PATCH' : 'PUT', path, token: account.accessToken, ...(edit ? { body: { body: `edited ${n}` } } : {}) })
          .then((answer) => {
            if (answer.status === 0) tally.problem('change failed')
            else if (answer.status >= 300) tally.problem(`change answered ${answer.status} ${answer.error}`)
            else tally.changed(startedAt, answer.ms)
            changesInFlight--
          })
      }
      const { ws } = client
      return {
        send(n, sentAt) {
          sendFrame(ws, room, `s${index}`, n, sentAt)
          // Extra work on top of the same message load, so the row compares with `chat`.
          if (row.changes && n % CHANGE_EVERY === 0 && acked.length > 0) change(n, acked[(n * 7) % acked.length])
        },
        extraInFlight: () => changesInFlight,
        ...closerOf(ws, client.closed, tally, 'sender'),
      }
    },
    async openPeer(index, room, check, tally, onAck) {
      const client = await connect(instances[index % INSTANCES].url, peerAccount(index).accessToken)
      await joinRoom(client, room)
      onFrames(client, 'peer', tally, { check, onAck })
      const { ws } = client
      return {
        send: (n, sentAt) => sendFrame(ws, room, `p${index}`, n, sentAt),
        extraInFlight: () => 0,
        ...closerOf(ws, client.closed, tally, 'peer'),
      }
    },
    async expectedStreams(rooms) {
      // The set-up joins' `member` events take the first seqs, before any receiver joined: excused.
      const stored = await stack.sql<{ id: string; last_seq: string; events: number }[]>`
        select id, last_seq, (select count(*)::int from chat.events e where e.room_id = r.id and e.kind = 'member') as events
        from chat.rooms r where id = any(${rooms}::uuid[])`
      return new Map(stored.map((row) => [row.id, [{ stream: row.id, count: Number(row.last_seq), excused: row.events }]]))
    },
    async messagesPerCommit(rooms) {
      // A batch's messages all carry their transaction's now(), so distinct times count commits.
      const [row] = await stack.sql<{ messages: number; commits: number }[]>`
        select count(*)::int as messages, count(distinct created_at)::int as commits from chat.messages where room_id = any(${rooms}::uuid[])`
      return row.commits === 0 ? null : row.messages / row.commits
    },
    serverPids: () => instances.map((instance) => instance.proc.pid),
  }
}

function closerOf(ws: WebSocket, closed: Promise<{ code: number }>, tally: Tally, role: string) {
  let closing = false
  void closed.then(({ code }) => {
    if (!closing) tally.problem(`${role} closed ${code}`)
  })
  return {
    async close() {
      closing = true
      ws.close()
      await closed
    },
  }
}

/** Nothing is stored: a receiver must get what each sender of its room had sent (a refused send was never broadcast, so it is excused). */
async function unstoredStreams(rooms: string[], senders: SenderState[]) {
  return new Map(
    rooms.map((room) => [room, senders.filter((s) => s.room === room).map((s) => ({ stream: String(s.index), count: s.sent, excused: s.failed }))]),
  )
}
const unstoredRooms = (row: Row) => Array.from({ length: row.rooms }, (_, r) => `bench-${row.id}-${r}-${Date.now()}`)

function socketIoDriver(urls: string[], pids: () => number[], persists: boolean): Driver {
  const open = async (index: number, tally: Tally, role: string) => {
    const socket: Socket = io(urls[index % INSTANCES], { transports: ['websocket'], forceNew: true, reconnection: false })
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('connect_error', reject)
    })
    let closing = false
    socket.on('disconnect', (reason) => {
      if (!closing) tally.problem(`${role} disconnected: ${reason}`)
    })
    return {
      socket,
      async close() {
        closing = true
        socket.disconnect()
      },
    }
  }
  const join = async (socket: Socket, room: string, check: StreamCheck, tally: Tally) => {
    const joined: Ack = await socket.timeout(PROCESS_READY_TIMEOUT_MS).emitWithAck('join', room)
    if (!joined.ok) throw new Error(`bench: Socket.IO join failed: ${joined.error}`)
    socket.on('message', (message: MessagePayload) => {
      check.see(String(message.sender), message.n)
      tally.delivered(sentAtOf(message.body))
    })
  }
  const sender = (socket: Socket, index: number, room: string, tally: Tally, onAck: OnAck) => (n: number, sentAt: number) => {
    const payload: SendPayload = { room, sender: index, n, body: bodyAt(sentAt) }
    socket.emit('send', payload, (answer: Ack) => {
      if (!answer.ok) tally.problem(`sender error ${answer.error}`)
      onAck(n, answer.ok)
    })
  }
  return {
    createRooms: async (row) => unstoredRooms(row),
    async openReceiver(index, room, check, tally) {
      const { socket, close } = await open(index, tally, 'receiver')
      await join(socket, room, check, tally)
      return { close }
    },
    async openSender(index, room, tally, onAck) {
      // Socket.IO rows have no -changes variant: nothing is stored to change.
      const { socket, close } = await open(index, tally, 'sender')
      return { send: sender(socket, index, room, tally, onAck), extraInFlight: () => 0, close }
    },
    async openPeer(index, room, check, tally, onAck) {
      const { socket, close } = await open(index, tally, 'peer')
      await join(socket, room, check, tally)
      return { send: sender(socket, index, room, tally, onAck), extraInFlight: () => 0, close }
    },
    expectedStreams: unstoredStreams,
    // One INSERT in autocommit per message, or nothing stored at all.
    messagesPerCommit: async () => (persists ? 1 : null),
    serverPids: pids,
  }
}

/** bench/bare-server.ts in pub/sub mode: topic publish and an ack, the least a Bun WebSocket server can do per message. */
function bareDriver(url: string, pid: () => number): Driver {
  const wsUrlOf = url.replace(/^http/, 'ws') + '/ws'
  const refused = async (): Promise<never> => {
    throw new Error('bench: the bare server only runs peer rows')
  }
  return {
    createRooms: async (row) => unstoredRooms(row),
    openReceiver: refused,
    openSender: refused,
    async openPeer(index, room, check, tally, onAck) {
      const ws = new WebSocket(wsUrlOf)
      const closed = new Promise<{ code: number }>((resolve) => (ws.onclose = (event) => resolve({ code: event.code })))
      await new Promise<void>((resolve, reject) => {
        ws.onopen = () => resolve()
        ws.onerror = () => reject(new Error('bench: the bare server refused a WebSocket'))
      })
      const joined = Promise.withResolvers<void>()
      ws.onmessage = (event) => {
        const frame: BareFrame = JSON.parse(String(event.data))
        if (frame.type === 'message') {
          check.see(String(frame.sender), frame.n)
          tally.delivered(sentAtOf(frame.body))
        } else if (frame.type === 'ack') onAck(frame.n, true)
        else if (frame.type === 'joined') joined.resolve()
      }
      ws.send(JSON.stringify({ type: 'join', room }))
      await joined.promise
      return {
        send: (n, sentAt) => ws.send(JSON.stringify({ type: 'send', room, sender: index, n, body: bodyAt(sentAt) })),
        extraInFlight: () => 0,
        ...closerOf(ws, closed, tally, 'peer'),
      }
    },
    expectedStreams: unstoredStreams,
    messagesPerCommit: async () => null,
    serverPids: () => [pid()],
  }
}

type Tokened = Account & { accessToken: string }
type SenderState = { index: number; room: string; sender: Sender; sent: number; failed: number; inFlight: Map<number, number>; phase: number }

type Latencies = { delivery: Float64Array; ack: Float64Array; change: Float64Array }

/** What one run of a row counted; `rest`: CPU no listed process accounted for (cores). */
type RoundResult = {
  row: Row
  rest: number
  senders: number
  receivers: number
  delivered: number
  acked: number
  /** Changes answered 2xx in the window (the -changes row), and their latency. */
  changed: number
  samples: Latencies
  lost: number
  duplicates: number
  outOfOrder: number
  /** Sends never answered within the drain time. */
  unanswered: number
  problems: Map<string, number>
  messagesPerCommit: number | null
  cpu: CpuUsage
}

/** A row's rounds together: counts and CPU added up, latencies pooled and summarized. */
type RowResult = Omit<RoundResult, 'rest'> & {
  rounds: number
  /** Each round's own delivery p99, to show how far one round's figure strays. */
  p99ByRound: number[]
  /** The most CPU that no listed process accounted for in any one round (cores): the disturbed mark goes by it. */
  worstRest: number
  change: Summary
  delivery: Summary
  ack: Summary
}

/** What a row set up: its sockets, and how to start and stop the load. */
type Load = {
  rooms: string[]
  senders: SenderState[]
  closers: { close(): Promise<void> }[]
  /** Receiving clients with the room whose stream each must get in full. */
  checks: { check: StreamCheck; room: string }[]
  receivers: number
  start(): void
  stop(): void
}

/** Sends until `sendUntil`: performance.now() values, set once the measured window opens. */
type Clock = { sendUntil: number }

const sendNext = (s: SenderState) => {
  const n = ++s.sent
  const sentAt = performance.now()
  s.inFlight.set(n, sentAt)
  s.sender.send(n, sentAt)
}

/** Counts an answer to send `n` of `state`; returns whether it was one still awaited. */
const answer = (state: SenderState, tally: Tally, n: number, ok: boolean) => {
  const sentAt = state.inFlight.get(n)
  if (sentAt === undefined) return false
  state.inFlight.delete(n)
  if (ok) tally.acked(sentAt)
  else state.failed++
  return true
}

/** M senders and N receivers, apart, both split over the instances. */
async function splitLoad(row: Row, driver: Driver, tally: Tally, clock: Clock): Promise<Load> {
  const rooms = await driver.createRooms(row)
  const roomOfReceiver = (i: number) => rooms[Math.floor(i / INSTANCES) % rooms.length]
  const checks = Array.from({ length: RECEIVERS }, (_, i) => ({ check: createStreamCheck(), room: roomOfReceiver(i) }))
  const closers: { close(): Promise<void> }[] = await inChunks(Array.from({ length: RECEIVERS }, (_, i) => i), CONNECT_CONCURRENCY, (i) =>
    driver.openReceiver(i, checks[i].room, checks[i].check, tally),
  )
  const senders: SenderState[] = []
  const { mode } = row
  for (let j = 0; j < SENDERS; j++) {
    const room = rooms[j % rooms.length]
    const state: SenderState = { index: j, room, sender: null as never, sent: 0, failed: 0, inFlight: new Map(), phase: j / SENDERS }
    state.sender = await driver.openSender(j, room, tally, (n, ok) => {
      if (answer(state, tally, n, ok) && mode.kind === 'window' && performance.now() < clock.sendUntil) sendNext(state)
    }, row)
    senders.push(state)
    closers.push(state.sender)
  }
  let pacer: Timer | null = null
  return {
    rooms,
    senders,
    closers,
    checks,
    receivers: RECEIVERS,
    start() {
      const startedAt = performance.now()
      if (mode.kind === 'rate') {
        // Open loop: each sender keeps its rate whatever the answers, staggered so they do not send in step.
        pacer = setInterval(() => {
          const now = performance.now()
          if (now >= clock.sendUntil) return
          for (const s of senders) {
            const due = Math.floor(((now - startedAt) / 1000) * mode.perSender + s.phase)
            while (s.sent < due) sendNext(s)
          }
        }, PACER_INTERVAL_MS)
      } else if (mode.kind === 'window') {
        for (const s of senders) for (let i = 0; i < mode.size; i++) sendNext(s)
      }
    },
    stop() {
      if (pacer !== null) clearInterval(pacer)
    },
  }
}

/** Every client joins its room, sends bursts as fast as acks allow, and receives all of its room. */
async function peerLoad(row: Row, driver: Driver, tally: Tally, clock: Clock): Promise<Load> {
  const { mode } = row
  if (row.peers === null || mode.kind !== 'burst') throw new Error(`bench: ${row.id} is not a peer row`)
  const rooms = await driver.createRooms(row)
  const clients = rooms.length * row.peers.perRoom
  const checks = Array.from({ length: clients }, (_, i) => ({ check: createStreamCheck(), room: rooms[peerRoomIndex(row, i)] }))
  const burst = (s: SenderState) => {
    for (let b = 0; b < mode.size; b++) sendNext(s)
  }
  const senders = await inChunks(Array.from({ length: clients }, (_, i) => i), CONNECT_CONCURRENCY, async (i) => {
    const state: SenderState = { index: i, room: checks[i].room, sender: null as never, sent: 0, failed: 0, inFlight: new Map(), phase: 0 }
    state.sender = await driver.openPeer(i, state.room, checks[i].check, tally, (n, ok) => {
      if (answer(state, tally, n, ok) && state.inFlight.size === 0 && performance.now() < clock.sendUntil) burst(state)
    })
    return state
  })
  return {
    rooms,
    senders,
    closers: senders.map((s) => s.sender),
    checks,
    receivers: clients,
    start: () => senders.forEach(burst),
    stop() {},
  }
}

async function runRow(row: Row, driver: Driver, components: Component[]): Promise<RoundResult> {
  const tally = createTally()
  const clock: Clock = { sendUntil: Infinity }
  const load = await (row.peers === null ? splitLoad : peerLoad)(row, driver, tally, clock)
  const { rooms, senders, checks } = load
  await Bun.sleep(SETTLE_MS)
  load.start()
  try {
    await Bun.sleep(WARMUP_SECONDS * 1000)
    const windowStart = performance.now()
    clock.sendUntil = windowStart + SECONDS * 1000
    tally.openWindow(windowStart, clock.sendUntil)
    const serverPids = driver.serverPids()
    const measured = await measureCpu(
      [],
      [...components, { name: 'server', pids: () => serverPids }],
      () => Bun.sleep(Math.max(0, clock.sendUntil - performance.now())),
    )
    load.stop()

    const answered = () => senders.every((s) => s.inFlight.size === 0 && s.sender.extraInFlight() === 0)
    await waitFor(async () => answered(), { timeoutMs: DRAIN_TIMEOUT_MS, intervalMs: DRAIN_POLL_MS })
    const expected = await driver.expectedStreams(rooms, senders)
    const missing = () =>
      checks.reduce((sum, { check, room }) => sum + (expected.get(room) ?? []).reduce((n, e) => n + check.missing(e.stream, e.count, e.excused), 0), 0)
    await waitFor(async () => missing() === 0, { timeoutMs: DRAIN_TIMEOUT_MS, intervalMs: DRAIN_POLL_MS })

    const { delivered, acked, changed, samples, problems } = tally.result()
    return {
      row,
      rest: restCores(measured.cpu, measured.cpu.seconds, COLUMNS),
      senders: senders.length,
      receivers: load.receivers,
      delivered,
      acked,
      changed,
      samples,
      lost: missing(),
      duplicates: checks.reduce((sum, { check }) => sum + check.duplicates, 0),
      outOfOrder: checks.reduce((sum, { check }) => sum + check.outOfOrder, 0),
      unanswered: senders.reduce((sum, s) => sum + s.inFlight.size, 0),
      problems,
      messagesPerCommit: await driver.messagesPerCommit(rooms),
      cpu: measured.cpu,
    }
  } finally {
    load.stop()
    await Promise.all(load.closers.map((c) => c.close()))
  }
}

/**
 * The rows whose figures the issue compares with each other (the changes may cost at most
 * 10% of the message-only row's throughput and p99). A p99 over 10 s rests on a few dozen
 * messages, so one stall (a checkpoint, a collection) moves it by more than that; the pair
 * therefore runs BENCH_PAIR_ROUNDS times each, alternately (ABBA…), so neither gains from
 * going first or from drift, and each row's latencies are pooled over its rounds.
 */
const COMPARED_PAIR = ['chat', 'chat-changes'] as const
const PAIR_ROUNDS = positiveInt('BENCH_PAIR_ROUNDS', 3)

/** What the report's load line says of the pair's rounds, when they run. */
const pairRounds = (rows: Row[]) =>
  COMPARED_PAIR.every((id) => rows.some((row) => row.id === id)) ? ` (${COMPARED_PAIR.join(' and ')}: ${PAIR_ROUNDS} rounds each, alternating, latencies pooled)` : ''

/** The rows in the order they run: each once, but the compared pair in alternating rounds where `chat` stood. */
function runOrder(rows: Row[]): Row[] {
  const [a, b] = COMPARED_PAIR.map((id) => rows.find((row) => row.id === id))
  if (a === undefined || b === undefined) return rows
  const alternating = Array.from({ length: PAIR_ROUNDS }, (_, i) => (i % 2 === 0 ? [a, b] : [b, a])).flat()
  return rows.flatMap((row) => (row === a ? alternating : row === b ? [] : [row]))
}

const concatenated = (arrays: Float64Array[]) => {
  const all = new Float64Array(arrays.reduce((n, array) => n + array.length, 0))
  let at = 0
  for (const array of arrays) {
    all.set(array, at)
    at += array.length
  }
  return all
}

/** One result for a row's rounds (one or more): counts and CPU added up, latencies pooled. */
function pooled(runs: RoundResult[]): RowResult {
  const total = (pick: (r: RoundResult) => number) => runs.reduce((sum, r) => sum + pick(r), 0)
  const samples: Latencies = {
    delivery: concatenated(runs.map((r) => r.samples.delivery)),
    ack: concatenated(runs.map((r) => r.samples.ack)),
    change: concatenated(runs.map((r) => r.samples.change)),
  }
  const problems = new Map<string, number>()
  for (const r of runs) for (const [what, count] of r.problems) problems.set(what, (problems.get(what) ?? 0) + count)
  const perCommit = runs.map((r) => r.messagesPerCommit).filter((n) => n !== null)
  const seconds: Record<string, number> = {}
  for (const r of runs) for (const [name, value] of Object.entries(r.cpu.seconds)) seconds[name] = (seconds[name] ?? 0) + value
  const { rest: _, ...first } = runs[0]
  return {
    ...first,
    rounds: runs.length,
    p99ByRound: runs.map((r) => summarize(r.samples.delivery).p99),
    worstRest: Math.max(...runs.map((r) => r.rest)),
    delivered: total((r) => r.delivered),
    acked: total((r) => r.acked),
    changed: total((r) => r.changed),
    samples,
    change: summarize(samples.change),
    delivery: summarize(samples.delivery),
    ack: summarize(samples.ack),
    lost: total((r) => r.lost),
    duplicates: total((r) => r.duplicates),
    outOfOrder: total((r) => r.outOfOrder),
    unanswered: total((r) => r.unanswered),
    problems,
    messagesPerCommit: perCommit.length === 0 ? null : perCommit.reduce((a, b) => a + b, 0) / perCommit.length,
    cpu: { seconds, wallSeconds: total((r) => r.cpu.wallSeconds), machineBusySeconds: total((r) => r.cpu.machineBusySeconds) },
  }
}

async function startSocketIoServers(options: { label: string; redisUrl: string; databaseUrl: string | null; entry: string[] }): Promise<{ urls: string[]; children: Child[] }> {
  const ports = await findFreePorts(INSTANCES)
  const urls = ports.map((port) => `http://127.0.0.1:${port}`)
  const children: Child[] = []
  for (const [i, port] of ports.entries()) {
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', PORT: String(port), REDIS_URL: options.redisUrl, NODE_ENV: 'production' }
    if (options.databaseUrl !== null) Object.assign(env, { PERSIST: '1', DATABASE_URL: options.databaseUrl })
    children.push(await startChild({ name: `${options.label}-${i + 1}`, cmd: options.entry, env, readyUrl: `${urls[i]}/health`, readyTimeoutMs: PROCESS_READY_TIMEOUT_MS }))
  }
  return { urls, children }
}

/** The Socket.IO server as Bun runs it, or bundled for Node (which cannot run TypeScript itself). */
async function socketIoEntry(runtime: 'bun' | 'node'): Promise<string[]> {
  const source = join(import.meta.dir, 'socketio-server.ts')
  if (runtime === 'bun') return [process.execPath, 'run', source]
  const built = await Bun.build({ entrypoints: [source], target: 'node', outdir: workDir(), naming: 'socketio-server.mjs' })
  if (!built.success) throw new Error(`bench: bundling the Socket.IO server for Node failed:\n${built.logs.join('\n')}`)
  return ['node', built.outputs[0].path]
}

async function main() {
  if (ROWS.length === 0) throw new Error(`BENCH_ROWS matched no row (ids: ${ALL_ROW_IDS.join(', ')})`)
  const systems = new Set(ROWS.map((row) => row.system))

  // Only a sender above the default bucket needs it raised: the -max and peer rows, or a high BENCH_RATE.
  const needsUnlimitedSends = ROWS.some((row) => row.system === 'chat' && (row.mode.kind !== 'rate' || row.mode.perSender > CHAT_SEND_PER_SECOND * 0.9))
  const stackEnv: Record<string, string> = { LOG_LEVEL: 'warn', ...(needsUnlimitedSends ? { SEND_PER_SECOND: UNLIMITED_SENDS, SEND_BURST: UNLIMITED_SENDS } : {}) }
  if (CPU_PROFILE_DIR !== '') stackEnv.BUN_OPTIONS = `--cpu-prof-md --cpu-prof-dir=${resolve(CPU_PROFILE_DIR)}`
  console.error(`bench: starting the stack with two chat instances (LOG_LEVEL=warn${needsUnlimitedSends ? ', send rate limit raised for the -max rows' : ''})…`)
  const stack: TestStack = await startTestStack({ chat: INSTANCES, env: stackEnv })
  atCleanUp(() => stack.stop())
  if (CPU_PROFILE_DIR !== '') console.error(`bench: CPU profiles go to ${resolve(CPU_PROFILE_DIR)}; chat instances are pids ${stack.instancesOf('chat').map((i) => i.proc.pid).join(', ')}`)

  const drivers = new Map<System, Driver>()
  if (systems.has('chat')) {
    const receiverUsers = Math.ceil(RECEIVERS / RECEIVER_SOCKETS_PER_USER)
    const chatRows = ROWS.filter((row) => row.system === 'chat')
    const peerUsers = Math.max(0, ...chatRows.map((row) => (row.peers === null ? 0 : Math.ceil((row.rooms * row.peers.perRoom) / RECEIVER_SOCKETS_PER_USER))))
    const users = Math.max(chatRows.some((row) => row.peers === null) ? SENDERS + receiverUsers : 0, peerUsers)
    console.error(`bench: registering ${users} users and logging in…`)
    const accounts = await inChunks(Array.from({ length: users }, (_, i) => i), PREPARE_CONCURRENCY, async () => {
      const account = await register(stack.url)
      return { ...account, accessToken: (await login(stack.url, account)).accessToken }
    })
    drivers.set('chat', chatDriver(stack, accounts.slice(0, SENDERS), accounts.slice(SENDERS), accounts.slice(0, peerUsers)))
  }
  if (systems.has('bare')) {
    const [port] = await findFreePorts(1)
    const url = `http://127.0.0.1:${port}`
    const child = await startChild({
      name: 'bare',
      cmd: [process.execPath, 'run', join(import.meta.dir, 'bare-server.ts')],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PORT: String(port), BARE_MODE: 'pubsub' },
      readyUrl: url,
      readyTimeoutMs: PROCESS_READY_TIMEOUT_MS,
    })
    drivers.set('bare', bareDriver(url, () => child.proc.pid))
  }
  if (systems.has('sio') || systems.has('sio-pg') || systems.has('sio-node')) {
    // A Redis DB of its own, claimed the way the test harness claims one, so test runs and
    // this bench never share one. Pub/sub is not per DB in Redis: the claim keeps keys apart,
    // the channel names keep the two systems apart.
    const redis = await claimRedisDb()
    atCleanUp(() => redis.release())
    const entry = await socketIoEntry(SIO_RUNTIME)
    console.error(`bench: starting Socket.IO servers (Redis ${redis.url})…`)
    if (systems.has('sio-node')) {
      const servers = await startSocketIoServers({ label: 'sio-node', redisUrl: redis.url, databaseUrl: null, entry: await socketIoEntry('node') })
      drivers.set('sio-node', socketIoDriver(servers.urls, () => servers.children.map((c) => c.proc.pid), false))
    }
    if (systems.has('sio')) {
      const servers = await startSocketIoServers({ label: 'sio', redisUrl: redis.url, databaseUrl: null, entry })
      drivers.set('sio', socketIoDriver(servers.urls, () => servers.children.map((c) => c.proc.pid), false))
    }
    if (systems.has('sio-pg')) {
      await stack.sql`create schema if not exists bench_sio`
      // What a straightforward handler stores: a key, the room's history index, the message.
      await stack.sql`
        create table bench_sio.messages (
          id bigserial primary key, room text not null, sender int not null, n int not null,
          body text not null, created_at timestamptz not null default now())`
      await stack.sql`create index on bench_sio.messages (room, id)`
      const servers = await startSocketIoServers({ label: 'sio-pg', redisUrl: redis.url, databaseUrl: stack.databaseUrl, entry })
      drivers.set('sio-pg', socketIoDriver(servers.urls, () => servers.children.map((c) => c.proc.pid), true))
    }
  }

  const components: Component[] = [
    { name: 'client', pids: () => [process.pid] },
    // Backends of this stack's database only (the Socket.IO + INSERT servers use it too).
    { name: 'postgres', pids: databaseBackends(stack.databaseUrl) },
    // One server shared with every other client on the machine.
    { name: 'redis', pids: () => pidsByCommand('redis-server') },
  ]
  const background = await backgroundLoad()

  const runs = new Map<Row, RoundResult[]>()
  const failures: { row: Row; error: unknown }[] = []
  for (const row of runOrder(ROWS)) {
    const clients = row.peers === null ? `${SENDERS} senders, ${RECEIVERS} receivers` : `${row.rooms * row.peers.perRoom} clients`
    const round = runs.has(row) ? ` (round ${runs.get(row)!.length + 1})` : ''
    console.error(`bench: ${row.name}${round}: ${clients}, ${WARMUP_SECONDS} s warm-up + ${SECONDS} s`)
    try {
      const result = await runRow(row, drivers.get(row.system)!, components)
      runs.set(row, [...(runs.get(row) ?? []), result])
    } catch (error) {
      // One row failing (a baseline server that died, say) does not cost the others' figures.
      console.error(`bench: ${row.id} failed:`, error instanceof Error ? error.message : error)
      failures.push({ row, error })
    }
  }
  const results = ROWS.flatMap((row) => (runs.has(row) ? [pooled(runs.get(row)!)] : []))
  const [{ version: postgresVersion }] = await stack.sql`select current_setting('server_version') as version`
  const redisVersion = await redisServerVersion(stack.redisUrl)
  printReport(results, {
    software: `Bun ${Bun.version}${SIO_RUNTIME === 'node' || systems.has('sio-node') ? `, Node ${versionOf(['node', '--version'])}` : ''}, PostgreSQL ${postgresVersion}, Redis ${redisVersion}, socket.io ${packageVersion('socket.io')}, @socket.io/redis-adapter ${packageVersion('@socket.io/redis-adapter')}`,
    load:
      `${SENDERS} senders and ${RECEIVERS} receivers per row, alternating between the two instances (direct, no Caddy); ` +
      `${WARMUP_SECONDS} s warm-up, then ${SECONDS} s measured${pairRounds(ROWS)}; bodies of ${BODY_CHARS} characters; rate rows: ${RATE}/s per sender (open loop), ` +
      `-max rows: ${WINDOW} sends in flight per sender; -all rows: ${PEER_ROOMS} rooms × ${PEER_CLIENTS} clients each sending and receiving, bursts of ${PEER_BURST}; ` +
      `-dm rows: ${DM_ROOMS} rooms × 2 clients, bursts of ${DM_BURST}${needsUnlimitedSends ? ` (chat started with SEND_PER_SECOND=SEND_BURST=${UNLIMITED_SENDS} so its bucket does not refuse them)` : ''}`,
    background: `${background} (other work on the machine)`,
  })
  for (const { row, error } of failures) console.log(`\nRow ${row.id} failed: ${error instanceof Error ? error.message : String(error)}`)
  if (failures.length > 0) throw new Error(`${failures.map((f) => f.row.id).join(", ")} failed (the other rows are above)`)
}

const COLUMNS = ['client', 'server', 'postgres', 'redis'] as const

function printReport(results: RowResult[], info: { software: string; load: string; background: string }) {
  const cores = cpus().length
  const perSecond = (count: number, r: RowResult) => Math.round(count / (SECONDS * r.rounds)).toLocaleString('en-US')
  const mark = (r: RowResult) => disturbedMark(r.worstRest)
  const out: string[] = reportHeader(info)
  out.push(
    ...markdownTable(
      ['Scenario', 'senders', 'receivers', 'sent/s', 'delivered/s', 'p50 ms', 'p99 ms', 'max ms', 'lost', 'duplicates', 'out-of-order'],
      results.map((r) => [
        `${r.row.name}${mark(r)}`,
        String(r.senders),
        String(r.receivers),
        perSecond(r.acked, r),
        perSecond(r.delivered, r),
        ms(r.delivery.p50),
        ms(r.delivery.p99),
        ms(r.delivery.max),
        String(r.lost),
        String(r.duplicates),
        String(r.outOfOrder),
      ]),
    ),
  )
  out.push(
    '',
    'sent/s: sends acknowledged within the measured window (chat: stored and numbered; Socket.IO: broadcast handed to the adapter, or',
    'inserted then broadcast). delivered/s: message frames all receivers got within the window. Latency: send → a receiver has the',
    'frame, for messages sent within the window (all in one process, one clock). lost / duplicates / out-of-order: over the whole row,',
    `warm-up included, after up to ${DRAIN_TIMEOUT_MS / 1000} s for stragglers.`,
    '',
    'Acknowledgement latency, messages stored per Postgres commit (over the row), and CPU by process during the window (user +',
    `system, all threads, in % of one core; ${cores} cores = ${cores * 100}%). client: this process (every socket of both sides);`,
    "server: the row's two instances; postgres: this stack's backends; redis: the whole shared server; rest: CPU no listed",
    'process accounts for (the kernel’s loopback work, other load). µs columns: the two servers’ CPU per acknowledged send and',
    'per delivered frame.',
    '',
  )
  out.push(
    ...markdownTable(
      ['Scenario', 'ack p50 ms', 'ack p99 ms', 'msgs/commit', ...COLUMNS, 'rest', 'busy', 'server µs/msg sent', 'server µs/delivery'],
      results.map((r) => {
        const { cpu } = r
        const share = (name: string) => percent((cpu.seconds[name] ?? 0) / cpu.wallSeconds)
        const micros = (count: number) => (count === 0 ? '–' : Math.round(((cpu.seconds.server ?? 0) / count) * 1e6).toLocaleString('en-US'))
        return [
          `${r.row.name}${mark(r)}`,
          ms(r.ack.p50),
          ms(r.ack.p99),
          r.messagesPerCommit === null ? '–' : r.messagesPerCommit.toFixed(1),
          ...COLUMNS.map(share),
          percent(restCores(cpu, cpu.seconds, COLUMNS)),
          percent(busyCores(cpu)),
          micros(r.acked),
          micros(r.delivered),
        ]
      }),
    ),
  )
  for (const r of results.filter((r) => r.row.changes)) {
    out.push('', `${r.row.id}: ${perSecond(r.changed, r)} changes/s answered besides the messages, answer p50 ${ms(r.change.p50)} ms, p99 ${ms(r.change.p99)} ms.`)
  }
  const [alone, withChanges] = COMPARED_PAIR.map((id) => results.find((r) => r.row.id === id))
  if (alone !== undefined && withChanges !== undefined) {
    const change = (pick: (r: RowResult) => number) => {
      const relative = pick(withChanges) / pick(alone) - 1
      return `${relative >= 0 ? '+' : ''}${(relative * 100).toFixed(1)}%`
    }
    out.push(
      '',
      `${withChanges.row.id} against ${alone.row.id} (${alone.rounds} and ${withChanges.rounds} rounds, run alternately, latencies pooled): ` +
        `delivered/s ${change((r) => r.delivered / r.rounds)}, delivery p50 ${change((r) => r.delivery.p50)}, p99 ${change((r) => r.delivery.p99)}. ` +
        `Each round's p99: ${[alone, withChanges].map((r) => `${r.row.id} ${r.p99ByRound.map(ms).join(' / ')} ms`).join(', ')}.`,
    )
  }
  const troubled = results.filter((r) => r.problems.size > 0 || r.unanswered > 0)
  for (const r of troubled) {
    const listed = [...r.problems].map(([what, count]) => `${what} ×${count}`)
    if (r.unanswered > 0) listed.push(`${r.unanswered} sends unanswered after the drain`)
    out.push('', `Problems in ${r.row.id}: ${listed.join('; ')}`)
  }
  if (results.some((r) => r.row.system === 'sio-pg' && r.outOfOrder > 0)) {
    out.push(
      '',
      'Socket.IO + INSERT: a connection’s handlers run concurrently while their INSERTs share a pool, so a sender’s messages are',
      'broadcast in the order their INSERTs finish, not in the order they were sent: awaiting storage costs Socket.IO its only',
      'ordering guarantee (per connection) unless the handler serialises per sender or per room.',
    )
  }
  if (results.some((r) => mark(r) !== '')) {
    out.push('', disturbedNote('its rates and latencies understate the system.'))
  }
  console.log(out.join('\n'))
}

async function redisServerVersion(url: string): Promise<string> {
  const client = new Bun.RedisClient(url)
  try {
    return /redis_version:(\S+)/.exec(String(await client.send('INFO', ['server'])))?.[1] ?? 'unknown'
  } catch {
    return 'unknown'
  } finally {
    client.close()
  }
}

function packageVersion(name: string): string {
  try {
    return require(join(REPO_ROOT, 'node_modules', name, 'package.json')).version
  } catch {
    return 'unknown'
  }
}

await runBench(main)
