import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { CLOSE } from '@chat/common/chat-protocol'
import { startTestStack, type TestStack } from '../../test/harness'
import { createRoom, expectAllMessages, expectResumed, person, range, messageSeqs } from '../../test/chat-helpers'
import { sleep } from '../../test/client'
import { connect, joinRoom, type SocketClient } from '../../test/ws-client'

/** Sends are under way for this long before the instance is told to stop. */
const SENDING_BEFORE_STOP_MS = 300
/** About 250 sends a second: steady, and under the per-socket rate limit (300/s). */
const SEND_INTERVAL_MS = 4
/** Within the rate limit's burst (600) even on top of the steady sends. */
const SIGTERM_BURST = 200

let stack: TestStack
beforeAll(async () => {
  stack = await startTestStack({ chat: 2 })
})
afterAll(() => stack?.stop())

describe('graceful shutdown of a chat instance', () => {
  test('SIGTERM closes its sockets with 1012 after acknowledging what it stored, exits 0, and clients resume through Caddy without loss', async () => {
    const [victim, survivor] = stack.instancesOf('chat')
    const [alice, bob] = [await person(stack.url), await person(stack.url)]
    const room = await createRoom(stack.url, alice, [bob])
    const sender = await connect(victim.url, alice.accessToken)
    const reader = await connect(victim.url, bob.accessToken)
    const bystander = await connect(survivor.url, bob.accessToken)
    for (const client of [sender, reader, bystander]) await joinRoom(client, room)

    // The sender keeps sending until its socket closes, so sends are in flight at SIGTERM.
    const sending = (async (client: SocketClient) => {
      for (let i = 0; client.ws.readyState === WebSocket.OPEN; i++) {
        client.send({ type: 'send', room, body: `m ${i}`, clientId: `m-${i}`, ref: i })
        await sleep(SEND_INTERVAL_MS)
      }
    })(sender)
    await sleep(SENDING_BEFORE_STOP_MS)
    // A burst right before the signal, so some are surely still being stored when it lands.
    for (let i = 0; i < SIGTERM_BURST; i++) sender.send({ type: 'send', room, body: `burst ${i}`, clientId: `burst-${i}`, ref: `burst-${i}` })
    await stack.kill(victim, 'SIGTERM')
    await sending

    // The harness escalates to SIGKILL after its grace period; exit code 0 means it ended on its own.
    expect({ exitCode: victim.proc.exitCode, signal: victim.proc.signalCode }).toEqual({ exitCode: 0, signal: null })
    expect(await sender.closed).toMatchObject({ code: CLOSE.SERVICE_RESTART })
    expect(await reader.closed).toMatchObject({ code: CLOSE.SERVICE_RESTART })
    expect(bystander.ws.readyState).toBe(WebSocket.OPEN)

    // Every message the instance stored was acknowledged before the close, and every ack is stored.
    const acked = sender.frames.filter((f) => f.type === 'ack')
    expect(acked.length).toBeGreaterThan(0)
    const stored = await stack.sql`select id, seq, client_id from chat.messages where room_id = ${room} order by seq`
    expect(stored.map((r) => r.id).sort()).toEqual(acked.map((f) => f.id).sort())
    expect(stored.map((r) => Number(r.seq))).toEqual(messageSeqs(room, stored.length))

    // The reader reconnects through Caddy (the stopped instance no longer listens) and resumes.
    const resumed = await expectResumed(stack.url, bob.accessToken, reader, room, stored.length)
    await expectAllMessages(bystander, room, stored.length)
    for (const client of [resumed, bystander]) client.close()
  })
})
