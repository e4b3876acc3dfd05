import { afterAll, expect, test } from 'bun:test'
import type { ServerWebSocket } from 'bun'
import { waitUntil } from '../../test/wait'
import { createChatSocket, type ChatSocketEvents } from './socket'
import type { AccessToken } from './tokens'

const ROOM = '00000000-0000-4000-8000-000000000001'
const USER = '00000000-0000-4000-8000-000000000002'
const token: AccessToken = { token: 'access', renewAt: Date.now() + 3_600_000, expiresAt: Date.now() + 3_600_000 }
const at = '2026-11-30T07:00:00.000Z'

/** A stand-in chat server: `ready` for `auth`, `joined` for `join`, and whatever a test sends next. */
const joins: { since?: number }[] = []
const open: ServerWebSocket<unknown>[] = []
const server = Bun.serve({
  port: 0,
  fetch: (request, srv) => (srv.upgrade(request) ? undefined : new Response('WebSocket only', { status: 426 })),
  websocket: {
    open: (ws) => void open.push(ws),
    message(ws, data) {
      const frame = JSON.parse(String(data)) as { type: string; ref?: number; room?: string; since?: number }
      if (frame.type === 'auth') ws.send(JSON.stringify({ type: 'ready', userId: USER, sessionId: 'session', ref: frame.ref }))
      if (frame.type === 'join') {
        joins.push({ since: frame.since })
        ws.send(JSON.stringify({ type: 'joined', room: frame.room, lastSeq: 2, ref: frame.ref }))
      }
    },
  },
})
afterAll(() => server.stop(true))

test('events take seqs with messages: each is told once, and a reconnect resumes after the newest of either', async () => {
  const socket = createChatSocket({ url: `ws://127.0.0.1:${server.port}`, getToken: async () => token })
  const seen: { message: ChatSocketEvents['message'][]; event: ChatSocketEvents['event'][]; receipt: ChatSocketEvents['receipt'][]; added: string[] } = {
    message: [],
    event: [],
    receipt: [],
    added: [],
  }
  socket.on('message', (m) => seen.message.push(m))
  socket.on('event', (e) => seen.event.push(e))
  socket.on('receipt', (r) => seen.receipt.push(r))
  socket.on('room_added', ({ room }) => seen.added.push(room))
  await socket.join(ROOM)

  const ws = open.at(-1)!
  const edit = { type: 'event', room: ROOM, seq: 4, kind: 'edit', actorId: USER, createdAt: at, target: 'm3', data: { body: 'fixed' } }
  ws.send(JSON.stringify({ type: 'message', id: 'm3', room: ROOM, seq: 3, senderId: USER, body: 'fxed', clientId: 'c', createdAt: at }))
  ws.send(JSON.stringify(edit))
  // The same event again (a replay racing live delivery) is not told twice.
  ws.send(JSON.stringify(edit))
  ws.send(JSON.stringify({ type: 'receipt', room: ROOM, userId: USER, seq: 4 }))
  ws.send(JSON.stringify({ type: 'room_added', room: ROOM }))
  await waitUntil(() => seen.added.length === 1, 'room_added is told')

  expect(seen.message.map((m) => m.seq)).toEqual([3])
  expect(seen.event).toEqual([{ room: ROOM, seq: 4, kind: 'edit', actorId: USER, createdAt: at, target: 'm3', data: { body: 'fixed' } }])
  expect(seen.receipt).toEqual([{ room: ROOM, userId: USER, seq: 4 }])
  expect(socket.lastSeq(ROOM)).toBe(4)

  ws.close(1012, 'restarting')
  await waitUntil(() => joins.length === 2, 'the room is joined again')
  expect(joins[1].since).toBe(4)
  socket.close()
})
