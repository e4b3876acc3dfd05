import { afterAll, describe, expect, test } from 'bun:test'
import { createServer, type Server } from 'node:net'
import { attemptOrder, callInternal, parsePeerUrls, type PeerPool } from './internal'

const live = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: (request) => Response.json({ path: new URL(request.url).pathname }) })
/** Accepts the connection, then drops it: the request may have arrived. */
const dropping: Server = createServer((socket) => socket.destroy()).listen(0, '127.0.0.1')
const droppingUrl = () => `http://127.0.0.1:${(dropping.address() as { port: number }).port}`
/** A port nothing listens on: the connection is refused, so the request surely never ran. */
const REFUSED_URL = 'http://127.0.0.1:9'

afterAll(() => {
  live.stop(true)
  dropping.close()
})

describe('peer URL lists', () => {
  test('a setting is split on commas, trimmed, without trailing slashes', () => {
    expect(parsePeerUrls(' http://a:1/ ,http://b:2')).toEqual(['http://a:1', 'http://b:2'])
  })

  test('attempts rotate over the instances and try those marked down last', () => {
    const pool: PeerPool = { urls: ['a', 'b', 'c'], next: 0, downUntil: new Map([['b', 2000]]) }
    expect(attemptOrder(pool, 1000)).toEqual(['a', 'c', 'b'])
    expect(attemptOrder(pool, 1000)).toEqual(['c', 'a', 'b'])
    expect(attemptOrder(pool, 3000)).toEqual(['c', 'a', 'b'])
  })
})

describe('callInternal over several instances', () => {
  test('a refused connection moves the call to the next instance, whatever the method', async () => {
    const setting = `${REFUSED_URL},http://127.0.0.1:${live.port}`
    for (let i = 0; i < 3; i++) {
      expect(await callInternal(setting, 'token', 'POST', '/internal/x', { a: 1 })).toEqual({ ok: true, status: 200, data: { path: '/internal/x' } })
    }
  })

  test('a POST whose connection dropped after it was sent is not sent again; a GET is', async () => {
    const order = `${droppingUrl()},http://127.0.0.1:${live.port}`
    expect(await callInternal(order, 'token', 'POST', '/internal/z', {})).toEqual({ ok: false, reason: 'unreachable' })
    // Another setting string is another pool, so the dropping instance is again tried first.
    const getOrder = `${droppingUrl()}, http://127.0.0.1:${live.port}`
    expect((await callInternal(getOrder, 'token', 'GET', '/internal/z')).ok).toBe(true)
  })

  test('with every instance unreachable the call answers unreachable', async () => {
    expect(await callInternal(`${REFUSED_URL},http://127.0.0.1:10`, 'token', 'GET', '/internal/w')).toEqual({ ok: false, reason: 'unreachable' })
  })
})
