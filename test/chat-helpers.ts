import { expect } from 'bun:test'
import { call, login, register, uniqueName, type Tokens } from './client'
import { connect, joinRoom, type Frame, type SocketClient } from './ws-client'

/** Chat test helpers over a stack's public URL: people, rooms, and checks on `seq` streams. */

export type Person = Tokens & { userId: string; password: string }

/** A freshly registered user, logged in. */
export async function person(baseUrl: string): Promise<Person> {
  const account = await register(baseUrl)
  return { ...(await login(baseUrl, account)), userId: account.id, password: account.password }
}

/** A public room owned by `owner` that every one of `members` has joined; returns its id. */
export async function createRoom(baseUrl: string, owner: Tokens, members: Tokens[] = []): Promise<string> {
  const room = await call(baseUrl, 'POST', '/chat/rooms', { token: owner.accessToken, body: { name: uniqueName('room') } })
  expect(room.status).toBe(201)
  for (const member of members) expect((await call(baseUrl, 'POST', `/chat/rooms/${room.body.id}/join`, { token: member.accessToken })).status).toBe(204)
  return room.body.id
}

/** from, from + 1, …, to: the seqs a room's messages must carry. */
export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

const isMessageIn = (room: string) => (f: Frame) => f.type === 'message' && f.room === room

export const messagesIn = (frames: Frame[], room: string) => frames.filter(isMessageIn(room))

export const seqsIn = (frames: Frame[], room: string) => messagesIn(frames, room).map((f) => f.seq as number)

/** Waits until `client` has `count` messages in `room`, then checks they are the room's seqs 1..count, once each and in order. */
export async function expectAllMessages(client: SocketClient, room: string, count: number): Promise<void> {
  await client.collect(isMessageIn(room), count, 10_000)
  expect(seqsIn(client.frames, room)).toEqual(range(1, count))
}

/**
 * What a reader whose instance went away does: it had a gapless prefix, reconnects
 * through `baseUrl` (Caddy), joins with `since` = the last seq it saw, and then holds
 * seqs 1..total exactly once. Returns the new socket.
 */
export async function expectResumed(baseUrl: string, token: string, reader: SocketClient, room: string, total: number): Promise<SocketClient> {
  const seen = seqsIn(reader.frames, room)
  expect(seen).toEqual(range(1, seen.length))
  const resumed = await connect(baseUrl, token)
  await joinRoom(resumed, room, seen.length)
  const rest = await resumed.collect(isMessageIn(room), total - seen.length, 10_000)
  expect([...seen, ...rest.map((f) => f.seq)]).toEqual(range(1, total))
  return resumed
}
