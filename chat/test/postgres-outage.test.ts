import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestStack, type TestStack } from '../../test/harness'
import { createRoom, person } from '../../test/chat-helpers'
import { sleep } from '../../test/client'
import { connect, joinRoom } from '../../test/ws-client'
import { startTcpProxy, type TcpProxy } from '../../test/tcp-proxy'

let stack: TestStack
let proxy: TcpProxy
let chatUrl: string

beforeAll(async () => {
  stack = await startTestStack({ chat: 1 })
  // A second chat instance that reaches the same real Postgres through a cuttable relay.
  const database = new URL(stack.databaseUrl)
  proxy = await startTcpProxy(database.hostname, Number(database.port || 5432))
  database.host = `127.0.0.1:${proxy.port}`
  chatUrl = (await stack.startInstance('chat', { env: { DATABASE_URL: database.toString() } })).url
})
afterAll(async () => {
  await stack?.stop()
  proxy?.stop()
})

describe('Postgres outage', () => {
  test('send answers an error frame, never a false ack, and the instance recovers by itself', async () => {
    const alice = await person(stack.url)
    const room = await createRoom(stack.url, alice)
    const socket = await connect(chatUrl, alice.accessToken)
    await joinRoom(socket, room)
    socket.send({ type: 'send', room, body: 'before', clientId: 'before', ref: 'before' })
    expect(await socket.next((f) => f.ref === 'before')).toMatchObject({ type: 'ack', seq: 1 })

    proxy.cut()
    socket.send({ type: 'send', room, body: 'during', clientId: 'during', ref: 'during' })
    const during = await socket.next((f) => f.ref === 'during', 20_000)
    expect(during).toMatchObject({ type: 'error', code: 'UNAVAILABLE' })
    const [{ count }] = await stack.sql`select count(*)::int as count from chat.messages where room_id = ${room}`
    expect(count).toBe(1)

    proxy.restore()
    // The client retries with the same clientId, as the error frame tells it to.
    let answer: Record<string, any> = {}
    for (let attempt = 0; attempt < 20 && answer.type !== 'ack'; attempt++) {
      socket.send({ type: 'send', room, body: 'during', clientId: 'during', ref: `retry${attempt}` })
      answer = await socket.next((f) => f.ref === `retry${attempt}`, 20_000)
      if (answer.type !== 'ack') await sleep(250)
    }
    expect(answer).toMatchObject({ type: 'ack', seq: 2 })
    expect(await socket.next((f) => f.type === 'message' && f.seq === 2)).toMatchObject({ body: 'during' })
    socket.close()
  })
})
