import { afterAll, beforeAll, expect, test } from 'bun:test'
import { createRoom, person } from '../../test/chat-helpers'
import { call } from '../../test/client'
import { startTestStack, type TestStack } from '../../test/harness'
import { connect, joinRoom } from '../../test/ws-client'

let stack: TestStack

beforeAll(async () => {
  stack = await startTestStack({ chat: 1, env: { SEARCH_LANGUAGE: 'german' } })
})
afterAll(async () => {
  await stack?.stop()
})

test('with SEARCH_LANGUAGE set, the stored vectors are rebuilt at start-up to stem in that language', async () => {
  const [row] = await stack.sql<{ expression: string }[]>`
    select pg_get_expr(d.adbin, d.adrelid) as expression
    from pg_attrdef d join pg_attribute a on a.attrelid = d.adrelid and a.attnum = d.adnum
    where d.adrelid = 'chat.messages'::regclass and a.attname = 'search_vector'`
  expect(row.expression).toContain(`to_tsvector('german'::regconfig, body)`)
  const [index] = await stack.sql<{ options: string[] | null }[]>`select reloptions as options from pg_class where oid = 'chat.messages_search'::regclass`
  expect(index.options).toContain('fastupdate=off')

  const alice = await person(stack.url)
  const room = await createRoom(stack.url, alice)
  const socket = await connect(stack.url, alice.accessToken)
  await joinRoom(socket, room)
  socket.send({ type: 'send', room, body: 'Die Häuser am Fluss sind alt', clientId: 'c1', ref: 'r1' })
  expect((await socket.next((f) => f.ref === 'r1')).type).toBe('ack')
  socket.close()
  // German stemming: "Haus" finds "Häuser"; the exact word still matches through `simple`.
  for (const q of ['Haus', 'häuser', 'Flusses']) {
    const answer = await call(stack.url, 'GET', `/chat/search?q=${encodeURIComponent(q)}`, { token: alice.accessToken })
    expect({ q, found: answer.body.items?.length }).toEqual({ q, found: 1 })
  }
})
