import { describe, expect, test } from 'bun:test'
import { shortAccessLine } from './access-line'

/** A line as Caddy 2.6 writes it (trimmed headers), query already redacted by the Caddyfile. */
const ACCESS_LINE = JSON.stringify({
  level: 'info',
  ts: 1796019843.399312,
  logger: 'http.log.access.log0',
  msg: 'handled request',
  request: { remote_ip: '127.0.0.1', proto: 'HTTP/1.1', method: 'POST', host: 'localhost:8080', uri: '/auth/login?next=REDACTED', headers: { 'User-Agent': ['curl/7.88.1'] } },
  user_id: '',
  duration: 0.0123456,
  size: 420,
  status: 200,
  resp_headers: { 'X-Request-Id': ['6f1c2d3e-0000-4000-8000-000000000000'], 'Content-Type': ['application/json'] },
})

describe('the short form of Caddy access lines in the dev console', () => {
  test('shows method, path, status, duration in ms and request id on one line', () => {
    expect(shortAccessLine(ACCESS_LINE)).toBe('POST /auth/login?next=REDACTED 200 12.3ms 6f1c2d3e-0000-4000-8000-000000000000')
  })

  test('leaves Caddy’s other log lines and anything that is not JSON as they are', () => {
    const other = JSON.stringify({ level: 'info', logger: 'http', msg: 'server running' })
    for (const line of [other, 'plain text', '{not json']) expect(shortAccessLine(line)).toBe(line)
  })

  test('marks what an access line lacks instead of failing', () => {
    expect(shortAccessLine(JSON.stringify({ logger: 'http.log.access.log0', request: {} }))).toBe('? ? ? ?ms -')
  })
})
