/**
 * Baseline for bench/chat.ts: what a team gets from Socket.IO with the official Redis
 * adapter out of the box. A `send` is broadcast with `io.to(room).emit` and acknowledged;
 * nothing is stored, nothing is numbered, so order across instances and recovery after a
 * lost pub/sub message are not guaranteed. With PERSIST=1 each message is first inserted
 * into Postgres (one INSERT per message, as a straightforward handler would), for a
 * comparison with storage.
 *
 * Environment: PORT, REDIS_URL, and with PERSIST=1 DATABASE_URL.
 */
import { createServer } from 'node:http'
import { createAdapter } from '@socket.io/redis-adapter'
import postgres from 'postgres'
import { createClient } from 'redis'
import { Server } from 'socket.io'

export type SendPayload = { room: string; sender: number; n: number; body: string }
export type MessagePayload = SendPayload
export type Ack = { ok: true } | { ok: false; error: string }

const port = Number(process.env.PORT)
const redisUrl = process.env.REDIS_URL
const persist = process.env.PERSIST === '1'
if (!Number.isInteger(port) || port <= 0 || redisUrl === undefined || (persist && process.env.DATABASE_URL === undefined)) {
  console.error('socketio-server: needs PORT, REDIS_URL, and DATABASE_URL with PERSIST=1')
  process.exit(1)
}

/** The bench creates the table before starting the servers; these connections are the pool a handler would use. */
const POOL_SIZE = 10
const sql = persist ? postgres(process.env.DATABASE_URL!, { max: POOL_SIZE, onnotice: () => {} }) : null

// The adapter leaves some Redis failures unhandled (a command timing out on a loaded
// machine); they would end the process and every connection with it. Logged instead: the
// messages they cost show up as lost.
process.on('unhandledRejection', (error) => console.error('socketio-server: unhandled rejection', error))

const pub = createClient({ url: redisUrl })
const sub = pub.duplicate()
for (const client of [pub, sub]) client.on('error', (error) => console.error('socketio-server: redis', error))
await Promise.all([pub.connect(), sub.connect()])

const http = createServer((request, response) => {
  // Readiness probe for the bench; Socket.IO answers its own path before this handler.
  response.writeHead(request.url === '/health' ? 200 : 404, { 'content-type': 'text/plain' }).end('ok')
})
const io = new Server(http, { adapter: createAdapter(pub, sub), transports: ['websocket'], serveClient: false })

io.on('connection', (socket) => {
  socket.on('join', (room: string, ack: (answer: Ack) => void) => {
    void socket.join(room)
    ack({ ok: true })
  })
  socket.on('send', async (payload: SendPayload, ack: (answer: Ack) => void) => {
    if (sql !== null) {
      try {
        await sql`insert into bench_sio.messages (room, sender, n, body) values (${payload.room}, ${payload.sender}, ${payload.n}, ${payload.body})`
      } catch (error) {
        return ack({ ok: false, error: String(error) })
      }
    }
    io.to(payload.room).emit('message', payload satisfies MessagePayload)
    ack({ ok: true })
  })
})

http.listen(port, '127.0.0.1', () => console.log(`socketio-server: listening on ${port}${persist ? ' (persisting)' : ''}`))

process.on('SIGTERM', async () => {
  io.close()
  await Promise.allSettled([pub.quit(), sub.quit(), sql?.end({ timeout: 1 })])
  process.exit(0)
})
