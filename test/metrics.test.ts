import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { ServiceName } from '../scripts/stack'
import { createRoom, person } from './chat-helpers'
import { call } from './client'
import { startTestStack, type TestStack } from './harness'
import { connect, joinRoom, openSocket } from './ws-client'

/** Prometheus's text exposition format, as prom-client labels it. */
const PROMETHEUS_TEXT = 'text/plain; version=0.0.4'
const PREFIX: Record<ServiceName, string> = { auth: '/auth', user: '/users', chat: '/chat' }

let stack: TestStack
beforeAll(async () => {
  stack = await startTestStack({ chat: 1 })
})
afterAll(() => stack?.stop())

/** Reads a service's metrics from its instance directly, the way Prometheus would. */
async function scrape(service: ServiceName): Promise<string> {
  const [instance] = stack.instancesOf(service)
  const response = await fetch(`${instance.url}${PREFIX[service]}/metrics`)
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toStartWith(PROMETHEUS_TEXT)
  return response.text()
}

/** The value of one series (`name{labels}` exactly as exposed), 0 when it has not appeared yet. */
function valueOf(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? 0 : Number(line.slice(series.length + 1))
}

const httpCount = (method: string, route: string, status: number) =>
  `http_request_duration_seconds_count{method="${method}",route="${route}",status="${status}"}`

describe('metrics', () => {
  test('every service serves Prometheus text with the HTTP histogram labelled by route template, never by raw path', async () => {
    const alice = await person(stack.url)
    expect((await call(stack.url, 'GET', `/users/${alice.userId}`, { token: alice.accessToken })).status).toBe(200)
    expect((await call(stack.url, 'GET', `/users/no/such/route/${alice.userId}`)).status).toBe(404)
    expect((await call(stack.url, 'POST', '/chat/rooms', { token: alice.accessToken, body: { name: 'metrics' } })).status).toBe(201)

    const user = await scrape('user')
    expect(user).toContain('# TYPE http_request_duration_seconds histogram')
    // The template as Elysia registered it: the prefix plus `/`.
    expect(valueOf(user, httpCount('POST', '/users/', 201))).toBe(1)
    expect(valueOf(user, httpCount('GET', '/users/:id', 200))).toBe(1)
    expect(valueOf(user, httpCount('GET', 'unmatched', 404))).toBe(1)
    expect(user).not.toContain(alice.userId)
    // The scrape does not time itself; default process metrics and the dependency counter are there.
    expect(user).not.toContain('route="/users/metrics"')
    expect(user).toContain('# TYPE process_cpu_seconds_total counter')
    expect(user).toContain('# TYPE dependency_errors_total counter')

    const auth = await scrape('auth')
    expect(valueOf(auth, httpCount('POST', '/auth/login', 200))).toBe(1)
    const chat = await scrape('chat')
    expect(valueOf(chat, httpCount('POST', '/chat/rooms', 201))).toBe(1)
  })

  test('chat metrics move with sockets, sends, stores, deliveries and refused tokens', async () => {
    const bob = await person(stack.url)
    const room = await createRoom(stack.url, bob)
    const before = await scrape('chat')

    const [chat] = stack.instancesOf('chat')
    const client = await connect(chat.url, bob.accessToken)
    await joinRoom(client, room)
    client.send({ type: 'send', room, body: 'count me', clientId: 'c1' })
    await client.next((f) => f.type === 'ack')
    await client.next((f) => f.type === 'message')
    await expect(openSocket(chat.url, { token: 'not-a-token' })).rejects.toThrow()
    const during = await scrape('chat')
    client.close()
    await client.closed

    const moved = (series: string) => valueOf(during, series) - valueOf(before, series)
    expect(valueOf(during, 'chat_open_sockets')).toBe(1)
    expect(moved('chat_messages_received_total')).toBe(1)
    expect(moved('chat_messages_stored_total')).toBe(1)
    expect(moved('chat_store_batch_size_count')).toBe(1)
    expect(moved('chat_store_duration_seconds_count{result="stored"}')).toBe(1)
    expect(moved('chat_messages_delivered_total{path="live"}')).toBe(1)
    expect(moved('chat_auth_failures_total{reason="INVALID_TOKEN"}')).toBe(1)
    expect(moved(httpCount('GET', '/chat/ws', 401))).toBe(1)
  })

  test('Caddy does not expose any service’s metrics', async () => {
    for (const prefix of Object.values(PREFIX)) {
      expect((await call(stack.url, 'GET', `${prefix}/metrics`)).status).toBe(404)
    }
  })
})
