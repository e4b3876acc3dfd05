import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { connect as connectTcp, type Socket } from 'node:net'
import { startTestStack, type TestStack } from '../../test/harness'
import { call, login, register, sleep } from '../../test/client'
import { connect, joinRoom } from '../../test/ws-client'

/** Small, so a few megabytes of unread frames exceed it even past the kernel's socket buffers. */
const BACKPRESSURE_LIMIT = 65_536
let stack: TestStack
beforeAll(async () => {
  stack = await startTestStack({ chat: 1, env: { WS_BACKPRESSURE_LIMIT_BYTES: String(BACKPRESSURE_LIMIT) } })
})
afterAll(() => stack?.stop())

/** A WebSocket client that completes the upgrade, joins, and then never reads again. */
async function openNonReader(port: number, token: string, room: string): Promise<Socket> {
  const socket = connectTcp({ host: '127.0.0.1', port })
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
  socket.write(
    [`GET /chat/ws HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', `Authorization: Bearer ${token}`, '', ''].join('\r\n'),
  )
  await new Promise<void>((resolve) => socket.once('data', () => resolve()))
  // A masked client text frame carrying the join.
  const payload = Buffer.from(JSON.stringify({ type: 'join', room }))
  const mask = Buffer.from([1, 2, 3, 4])
  const header = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 255])
  socket.write(Buffer.concat([header, mask, Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]))]))
  // Read until the join is answered, then stop reading for good.
  let received = ''
  await new Promise<void>((resolve) => {
    const onData = (chunk: Buffer) => {
      received += chunk.toString('latin1')
      if (received.includes('"type":"joined"')) {
        socket.off('data', onData)
        socket.pause()
        resolve()
      }
    }
    socket.on('data', onData)
  })
  return socket
}

describe('slow readers', () => {
  test('a socket that stops reading is dropped once its queue passes the limit, and the others keep receiving', async () => {
    const account = await register(stack.url)
    const tokens = await login(stack.url, account)
    const room = (await call(stack.url, 'POST', '/chat/rooms', { token: tokens.accessToken, body: { name: 'firehose' } })).body.id
    const chat = stack.instancesOf('chat')[0]
    const stalled = await openNonReader(chat.port, tokens.accessToken, room)
    const closed = new Promise<void>((resolve) => stalled.once('close', () => resolve()))
    const reader = await connect(chat.url, tokens.accessToken)
    await joinRoom(reader, room)

    // About 12 MB of frames, more than the kernel buffers on both ends can hide.
    const senders = await Promise.all(Array.from({ length: 6 }, () => connect(chat.url, tokens.accessToken)))
    const body = 'x'.repeat(4000)
    const perSender = 500
    senders.forEach((sender, s) => {
      for (let i = 0; i < perSender; i++) sender.send({ type: 'send', room, body, clientId: `s${s}-${i}` })
    })
    const total = senders.length * perSender
    await reader.collect((f) => f.type === 'message', total, 30_000)

    // The server dropped the stalled socket: once read again, it ends after what the kernel
    // buffers held, well short of the ~12 MB sent to the room.
    let bytes = 0
    stalled.on('data', (chunk: Buffer) => (bytes += chunk.length))
    stalled.resume()
    await Promise.race([closed, sleep(10_000).then(() => Promise.reject(new Error('the stalled socket was never closed')))])
    expect(bytes).toBeLessThan(total * body.length)
    const metrics = await (await fetch(`${chat.url}/chat/metrics`)).text()
    expect(metrics).toMatch(/chat_socket_closes_total\{code="1006"\} 1/)
    for (const socket of [reader, ...senders]) socket.close()
  })
})
