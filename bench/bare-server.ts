/**
 * Baselines: the least a Bun server can do. Run as its own process so it never shares an
 * event loop with the benchmark or the services.
 *
 * - default (bench/run.ts): an HTTP answer with a body the size of a health answer.
 * - BARE_MODE=pubsub (bench/chat.ts peer rows): a WebSocket at /ws taking JSON frames
 *   `{type:"join", room}` (answered `{type:"joined"}`) and `{type:"send", room, sender, n,
 *   body}`, published to the room's topic as `{type:"message", …}` (one serialization for
 *   all subscribers) and answered `{type:"ack", n}`. Nothing is checked, stored or numbered.
 */
import type { ServerWebSocket } from 'bun'

/** What the pub/sub mode sends to clients. */
export type BareFrame = { type: 'joined' } | { type: 'ack'; n: number } | { type: 'message'; room: string; sender: number; n: number; body: string }

const port = Number(process.env.PORT)
const mode = process.env.BARE_MODE ?? 'http'
if (!Number.isInteger(port) || port <= 0 || (mode !== 'http' && mode !== 'pubsub')) {
  console.error('bare-server: PORT must be a port number and BARE_MODE http or pubsub')
  process.exit(1)
}

const body = JSON.stringify({ status: 'ok', service: 'bare' })
const health = () => new Response(body, { headers: { 'content-type': 'application/json' } })

if (mode === 'http') {
  Bun.serve({ port, hostname: '127.0.0.1', fetch: health })
} else {
  type ClientFrame = { type: 'join'; room: string } | { type: 'send'; room: string; sender: number; n: number; body: string }
  const server = Bun.serve({
    port,
    hostname: '127.0.0.1',
    fetch: (request, server) => (new URL(request.url).pathname === '/ws' && server.upgrade(request) ? undefined : health()),
    websocket: {
      message(ws: ServerWebSocket<unknown>, data) {
        const frame: ClientFrame = JSON.parse(String(data))
        if (frame.type === 'join') {
          ws.subscribe(frame.room)
          ws.send('{"type":"joined"}')
        } else {
          server.publish(frame.room, JSON.stringify({ type: 'message', room: frame.room, sender: frame.sender, n: frame.n, body: frame.body }))
          ws.send(`{"type":"ack","n":${frame.n}}`)
        }
      },
      perMessageDeflate: false,
    },
  })
}

process.on('SIGTERM', () => process.exit(0))
