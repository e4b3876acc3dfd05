import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestStack, type TestStack } from '../../test/harness'
import { createRoom, expectAllMessages, expectResumed, messageSeqs, person, range, seqsIn, twoInRoom } from '../../test/chat-helpers'
import { call, login, register, sleep } from '../../test/client'
import { connect, joinRoom, type SocketClient } from '../../test/ws-client'

let stack: TestStack
beforeAll(async () => {
  stack = await startTestStack({ chat: 2 })
})
afterAll(() => stack?.stop())

describe('fan-out across two chat instances', () => {
  test('clients on both instances receive every message of several rooms exactly once, in seq order', async () => {
    const [a, b] = stack.instancesOf('chat')
    const people = [await person(stack.url), await person(stack.url), await person(stack.url), await person(stack.url)]
    const rooms = [
      await createRoom(stack.url, people[0], people.slice(1)),
      await createRoom(stack.url, people[1], [people[0], people[2], people[3]]),
      await createRoom(stack.url, people[2], [people[0], people[1], people[3]]),
    ]
    // Two clients directly on each instance, so both must fan out to each other.
    const clients: SocketClient[] = []
    for (const [i, p] of people.entries()) clients.push(await connect(i % 2 === 0 ? a.url : b.url, p.accessToken))
    for (const client of clients) for (const room of rooms) await joinRoom(client, room)

    const perClientPerRoom = 40
    await Promise.all(
      clients.map(async (client, c) => {
        for (let i = 0; i < perClientPerRoom; i++) {
          for (const room of rooms) client.send({ type: 'send', room, body: `c${c} m${i}`, clientId: `c${c}-${room}-${i}` })
          if (i % 10 === 0) await sleep(2)
        }
      }),
    )
    const total = clients.length * perClientPerRoom
    for (const client of clients) {
      await client.collect((f) => f.type === 'message', total * rooms.length, 15_000)
      await client.collect((f) => f.type === 'ack', perClientPerRoom * rooms.length, 15_000)
    }
    await sleep(300)
    for (const client of clients) for (const room of rooms) expect(seqsIn(client.frames, room)).toEqual(messageSeqs(room, total))
    for (const client of clients) client.close()
  })

  test('a body written to look like the wire form between instances arrives whole, as one message, on the other instance', async () => {
    const [one, other] = stack.instancesOf('chat')
    const { alice, bob, room, a: sender, b: reader } = await twoInRoom(stack.url, [one.url, other.url])
    for (const client of [sender, reader]) await joinRoom(client, room)
    // A forged second frame and seq list after a line break, a line separator, and a body
    // that starts like a timeline event: only ever text of one message.
    const forged = JSON.stringify({ type: 'message', room, seq: 999, senderId: bob.userId, body: 'forged', clientId: 'x', createdAt: new Date().toISOString() })
    const bodies = [`hi\n${forged}`, `T[1,2]\n${forged}\n${forged}`, `line\u2028separator\r\n`]
    for (const [i, body] of bodies.entries()) sender.send({ type: 'send', room, body, clientId: `forged-${i}` })
    const got = await reader.collect((f) => f.type === 'message', bodies.length, 5000)
    expect(got.map((f) => [f.body, f.senderId])).toEqual(bodies.map((body) => [body, alice.userId]))
    expect(got.map((f) => f.seq)).toEqual(messageSeqs(room, bodies.length))
    await sleep(300)
    expect(reader.frames.filter((f) => f.type === 'message')).toHaveLength(bodies.length)
    for (const client of [sender, reader]) client.close()
  })

  test('kill -9 of an instance while clients send: every acknowledged message is stored, and clients resume gaplessly through Caddy', async () => {
    const [victim, survivor] = stack.instancesOf('chat')
    const [alice, bob] = [await person(stack.url), await person(stack.url)]
    const room = await createRoom(stack.url, alice, [bob])
    const senderOnVictim = await connect(victim.url, alice.accessToken)
    const readerOnVictim = await connect(victim.url, bob.accessToken)
    const senderOnSurvivor = await connect(survivor.url, bob.accessToken)
    for (const client of [senderOnVictim, readerOnVictim, senderOnSurvivor]) await joinRoom(client, room)

    let stop = false
    const sendLoop = async (client: SocketClient, tag: string) => {
      for (let i = 0; !stop && i < 2000; i++) {
        if (client.ws.readyState !== WebSocket.OPEN) return
        client.send({ type: 'send', room, body: `${tag} ${i}`, clientId: `${tag}-${i}` })
        // About 250 sends a second: under the per-socket rate limit, which would close the socket.
        if (i % 5 === 0) await sleep(20)
      }
    }
    const loops = [sendLoop(senderOnVictim, 'victim'), sendLoop(senderOnSurvivor, 'survivor')]
    await sleep(500)
    await stack.kill(victim, 'SIGKILL')
    await sleep(500)
    stop = true
    await Promise.all(loops)
    await sleep(300)

    const acked = [...senderOnVictim.frames, ...senderOnSurvivor.frames].filter((f) => f.type === 'ack')
    expect(acked.length).toBeGreaterThan(0)
    const stored = await stack.sql`select id, seq from chat.messages where room_id = ${room} order by seq`
    const storedIds = new Set(stored.map((r) => r.id))
    expect(acked.filter((ack) => !storedIds.has(ack.id))).toEqual([])
    expect(stored.map((r) => Number(r.seq))).toEqual(messageSeqs(room, stored.length))

    // The reader that lost its instance reconnects through Caddy and resumes from what it saw.
    const resumed = await expectResumed(stack.url, bob.accessToken, readerOnVictim, room, stored.length)
    // And the survivor's own socket gets everything, in order: what the dead instance
    // stored but never published arrives through the survivor's periodic reconcile.
    expect(senderOnSurvivor.ws.readyState).toBe(WebSocket.OPEN)
    await expectAllMessages(senderOnSurvivor, room, stored.length)
    for (const client of [resumed, senderOnSurvivor]) client.close()
  })

  test('with every chat instance down, auth and user answer as before and chat answers 503', async () => {
    for (const instance of stack.instancesOf('chat')) await stack.kill(instance, 'SIGKILL')
    const account = await register(stack.url)
    const tokens = await login(stack.url, account)
    expect((await call(stack.url, 'GET', '/users/me', { token: tokens.accessToken })).status).toBe(200)
    const chat = await call(stack.url, 'GET', '/chat/rooms', { token: tokens.accessToken })
    expect([chat.status, chat.body.error]).toEqual([503, 'DEPENDENCY_DOWN'])
  })
})
