import { expect } from 'bun:test'
import { call, login, register, uniqueName, type Tokens } from './client'
import { connect, joinRoom, openSocket, type Frame, type SocketClient } from './ws-client'

/** Chat test helpers over a stack's public URL: people, rooms, and checks on `seq` streams. */

export type Person = Tokens & { userId: string; password: string }

/** A freshly registered user, logged in. */
export async function person(baseUrl: string): Promise<Person> {
  const account = await register(baseUrl)
  return { ...(await login(baseUrl, account)), userId: account.id, password: account.password }
}

/** Per room made by `createRoom`: the seqs its members' `joined` events took, before any message. */
const setUpSeqs = new Map<string, number>()

/** The last seq of a room right after `createRoom` set it up (one `member` event per joined member); 0 for other rooms. */
export const baseSeqOf = (room: string) => setUpSeqs.get(room) ?? 0

/** A public room owned by `owner` that every one of `members` has joined; returns its id. */
export async function createRoom(baseUrl: string, owner: Tokens, members: Tokens[] = []): Promise<string> {
  const room = await call(baseUrl, 'POST', '/chat/rooms', { token: owner.accessToken, body: { name: uniqueName('room') } })
  expect(room.status).toBe(201)
  for (const member of members) expect((await call(baseUrl, 'POST', `/chat/rooms/${room.body.id}/join`, { token: member.accessToken })).status).toBe(204)
  setUpSeqs.set(room.body.id, members.length)
  return room.body.id
}

/** Alice and Bob, members of one room Alice owns, each with a socket (not joined yet): on `urls`, by default both on `baseUrl`. */
export async function twoInRoom(baseUrl: string, urls: [string, string] = [baseUrl, baseUrl]) {
  const [alice, bob] = [await person(baseUrl), await person(baseUrl)]
  const room = await createRoom(baseUrl, alice, [bob])
  const [a, b] = [await connect(urls[0], alice.accessToken), await connect(urls[1], bob.accessToken)]
  return { alice, bob, room, a, b }
}

/** from, from + 1, …, to: the seqs a room's messages must carry. */
export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

/** The seqs of a room's first `count` messages when nothing but messages follows its set-up. */
export const messageSeqs = (room: string, count: number) => range(baseSeqOf(room) + 1, baseSeqOf(room) + count)

const isMessageIn = (room: string) => (f: Frame) => f.type === 'message' && f.room === room

export const messagesIn = (frames: Frame[], room: string) => frames.filter(isMessageIn(room))

export const seqsIn = (frames: Frame[], room: string) => messagesIn(frames, room).map((f) => f.seq as number)

/** Waits until `client` has `count` messages in `room`, then checks they are the room's first `count` message seqs, once each and in order. */
export async function expectAllMessages(client: SocketClient, room: string, count: number): Promise<void> {
  await client.collect(isMessageIn(room), count, 10_000)
  expect(seqsIn(client.frames, room)).toEqual(messageSeqs(room, count))
}

/**
 * What a reader whose instance went away does: it had a gapless prefix, reconnects
 * through `baseUrl` (Caddy), joins with `since` = the last seq it saw, and then holds
 * seqs 1..total exactly once. Returns the new socket.
 */
export async function expectResumed(baseUrl: string, token: string, reader: SocketClient, room: string, total: number): Promise<SocketClient> {
  const seen = seqsIn(reader.frames, room)
  expect(seen).toEqual(messageSeqs(room, seen.length))
  const resumed = await connect(baseUrl, token)
  await joinRoom(resumed, room, baseSeqOf(room) + seen.length)
  const rest = await resumed.collect(isMessageIn(room), total - seen.length, 10_000)
  expect([...seen, ...rest.map((f) => f.seq)]).toEqual(messageSeqs(room, total))
  return resumed
}

/**
 * Opens `count` sockets of one user at once, alternating over `urls`, and tells how each
 * ended: `ready`, or its close code. The sockets are closed afterwards.
 */
export async function openSocketsAtOnce(urls: string[], token: string, count: number): Promise<('ready' | number)[]> {
  const sockets = await Promise.all(Array.from({ length: count }, (_, i) => openSocket(urls[i % urls.length], { token })))
  const outcome = async (socket: SocketClient) => {
    try {
      await socket.next((f) => f.type === 'ready', 10_000)
      return 'ready' as const
    } catch {
      return (await socket.closed).code
    }
  }
  const outcomes = await Promise.all(sockets.map(outcome))
  for (const socket of sockets) socket.close()
  return outcomes
}
