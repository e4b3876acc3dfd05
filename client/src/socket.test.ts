import { afterAll, expect, test } from 'bun:test'
import { createChatSocket } from './socket'
import type { AccessToken } from './tokens'

/** Past the socket's shortest renewal delay (2 s), short of its retry after a failed one (5 s). */
const WATCH_MS = 2_500
const MINUTE_MS = 60_000

/** A stand-in chat server that answers every `auth` frame with `ready` and counts them. */
let authFrames = 0
const server = Bun.serve({
  port: 0,
  fetch: (request, srv) => (srv.upgrade(request) ? undefined : new Response('WebSocket only', { status: 426 })),
  websocket: {
    message(ws, data) {
      const frame = JSON.parse(String(data)) as { type: string; ref?: number }
      if (frame.type !== 'auth') return
      authFrames++
      ws.send(JSON.stringify({ type: 'ready', userId: 'user', sessionId: 'session', ref: frame.ref }))
    },
  },
})
afterAll(() => server.stop(true))

test('a token that cannot be renewed (auth service down) is not sent again and again', async () => {
  // What the API client answers while the refresh fails: the same token, due for renewal, not expired.
  const now = Date.now()
  const stuck: AccessToken = { token: 'access', renewAt: now - 1, expiresAt: now + MINUTE_MS }
  const socket = createChatSocket({ url: `ws://127.0.0.1:${server.port}`, getToken: async () => stuck })
  await Bun.sleep(WATCH_MS)
  socket.close()
  expect(authFrames).toBe(1)
})
