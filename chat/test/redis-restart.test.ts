import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Subprocess } from 'bun'
import { findFreePorts, canConnect } from '../../scripts/net'
import { startTestStack, type TestStack } from '../../test/harness'
import { createRoom, person, range, messageSeqs } from '../../test/chat-helpers'
import { sleep } from '../../test/client'
import { connect, joinRoom, type SocketClient } from '../../test/ws-client'

/** A Redis of this test's own, so restarting it disturbs nothing else on the machine. */
let redisPort: number
let redis: Subprocess | null = null
let stack: TestStack

async function startRedis() {
  redis = Bun.spawn(['redis-server', '--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdout: 'ignore', stderr: 'ignore' })
  for (let i = 0; i < 100 && !(await canConnect('127.0.0.1', redisPort, 200)); i++) await sleep(50)
}

async function stopRedis() {
  redis?.kill('SIGKILL')
  await redis?.exited
  redis = null
}

beforeAll(async () => {
  ;[redisPort] = await findFreePorts(1)
  await startRedis()
  stack = await startTestStack({ chat: 2, env: { REDIS_URL: `redis://127.0.0.1:${redisPort}` } })
})
afterAll(async () => {
  await stack?.stop()
  await stopRedis()
})

const LOCAL_PROBES = 5
/** Well under the hub's once-a-second reconcile, the only way a message could arrive without the broker. */
const LOCAL_DELIVERY_MS = 300

/**
 * With Redis away, a socket on the sending instance still gets each message live: the
 * instance that stored it hands it to its own feed at once, not when Redis echoes it back.
 */
async function expectLocalDeliveryWithoutRedis(sender: SocketClient, room: string, token: string, instanceUrl: string) {
  const local = await connect(instanceUrl, token)
  try {
    await joinRoom(local, room)
    for (let i = 0; i < LOCAL_PROBES; i++) {
      const clientId = `local-${i}`
      const started = performance.now()
      sender.send({ type: 'send', room, body: clientId, clientId })
      await local.next((f) => f.type === 'message' && f.clientId === clientId, 3000)
      expect(performance.now() - started).toBeLessThan(LOCAL_DELIVERY_MS)
    }
  } finally {
    local.close()
  }
}

describe('Redis restart under traffic', () => {
  test('no stored message is lost, and live delivery across instances resumes', async () => {
    const [a, b] = stack.instancesOf('chat')
    const [alice, bob] = [await person(stack.url), await person(stack.url)]
    const room = await createRoom(stack.url, alice, [bob])

    // Directly on the instances: Caddy's health checks fail while Redis is away.
    const sender = await connect(a.url, alice.accessToken)
    const reader = await connect(b.url, bob.accessToken)
    await joinRoom(sender, room)
    await joinRoom(reader, room)

    let sent = 0
    const sendSome = async (count: number) => {
      for (let i = 0; i < count; i++, sent++) {
        sender.send({ type: 'send', room, body: `m${sent}`, clientId: `k${sent}` })
        await sleep(10)
      }
    }
    await sendSome(30)
    await stopRedis()
    await sendSome(30)
    await expectLocalDeliveryWithoutRedis(sender, room, alice.accessToken, a.url)
    sent += LOCAL_PROBES
    await startRedis()
    await sleep(500)
    await sendSome(30)

    const acks = await sender.collect((f) => f.type === 'ack', sent, 15_000)
    const stored = await stack.sql`select id, seq from chat.messages where room_id = ${room} order by seq`
    const storedIds = new Set(stored.map((r) => r.id))
    expect(acks.filter((ack) => !storedIds.has(ack.id))).toEqual([])
    expect(stored.map((r) => Number(r.seq))).toEqual(messageSeqs(room, sent))

    // Everything reaches the reader on the other instance, in order, once.
    const received = await reader.collect((f) => f.type === 'message', sent, 15_000)
    expect(received.map((f) => f.seq)).toEqual(messageSeqs(room, sent))
    // And the sender's own socket, where the instance's own hand-over, the Redis echo and the
    // catch-up after the outage overlap: each message once, in order.
    const own = await sender.collect((f) => f.type === 'message', sent, 15_000)
    expect(own.map((f) => f.seq)).toEqual(messageSeqs(room, sent))

    // Live again: a fresh message crosses instances promptly.
    const started = performance.now()
    sender.send({ type: 'send', room, body: 'after', clientId: 'after' })
    await reader.next((f) => f.type === 'message' && f.clientId === 'after', 3000)
    expect(performance.now() - started).toBeLessThan(3000)
    for (const client of [sender, reader] as SocketClient[]) client.close()
  })
})
