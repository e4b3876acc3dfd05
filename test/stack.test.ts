import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Instance } from '../scripts/stack'
import { requestFrom, startTestStack, type TestStack } from './harness'
import { waitUntil } from './wait'

/** A loopback address other than Caddy's own 127.0.0.1, so the forwarded client IP is distinguishable. */
const CLIENT_ADDRESS = '127.0.0.2'
const ONE_MIB = 1024 * 1024
/** Caddy's lb_try_duration: it keeps looking for an instance this long before answering 503. */
const CADDY_RETRY_WINDOW_MS = 3000

let stack: TestStack

beforeAll(async () => {
  // Two instances each so that the upstream lists really hold several entries; no chat, for the 503 case.
  stack = await startTestStack({ auth: 2, user: 2, chat: 0 })
})

afterAll(async () => {
  await stack?.stop()
})

describe('the stack behind Caddy', () => {
  test('serves each service health through Caddy with a request id', async () => {
    for (const path of ['/auth/health', '/users/health']) {
      const response = await fetch(stack.url + path)
      expect(response.status).toBe(200)
      expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    }
  })

  test.if(['debug', 'info'].includes(process.env.TEST_LOG_LEVEL ?? 'info'))(
    'balances requests over every instance of a service',
    async () => {
      const requestIds: string[] = []
      for (let i = 0; i < 6; i++) requestIds.push((await fetch(stack.url + '/users/health')).headers.get('x-request-id')!)
      // Each instance logs the request id Caddy gave it; the access line is written just after the answer.
      const logged = async (instance: Instance) => {
        const log = await Bun.file(instance.child.logFile!).text()
        return requestIds.some((id) => log.includes(id))
      }
      await waitUntil(async () => (await Promise.all(stack.instancesOf('user').map(logged))).every(Boolean), 'every user instance has logged one of the requests')
    },
  )

  test('never exposes internal routes, however the path is spelled', async () => {
    for (const path of ['/internal/anything', '/auth/../internal/anything', '/users/%2e%2e/internal/anything', '//internal/anything']) {
      const response = await requestFrom('127.0.0.1', stack.url + path)
      expect(response.status).toBe(404)
      expect(response.headers.get('content-type')).toContain('application/json')
      expect(response.json<{ error: string }>().error).toBe('NOT_FOUND')
    }
  })

  test('answers unknown paths with a 404 in the error shape', async () => {
    const response = await fetch(stack.url + '/no-such-thing')
    expect(response.status).toBe(404)
    expect(await response.json()).toEqual({ error: 'NOT_FOUND', message: expect.any(String) })
    expect(response.headers.get('x-request-id')).toBeTruthy()
  })

  test(
    'answers a service with no running instance with 503 in the error shape',
    async () => {
      const response = await fetch(stack.url + '/chat/rooms')
      expect(response.status).toBe(503)
      expect((await response.json()).error).toBe('DEPENDENCY_DOWN')
    },
    CADDY_RETRY_WINDOW_MS + 5000,
  )

  test('refuses bodies over 1 MiB with the contract 413, whether the length is declared or not', async () => {
    const tooLarge = JSON.stringify({ login: 'x'.repeat(ONE_MIB), password: 'irrelevant' })
    const declared = await fetch(stack.url + '/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: tooLarge,
    })
    expect(declared.status).toBe(413)
    expect((await declared.json()).error).toBe('PAYLOAD_TOO_LARGE')

    const chunked = await requestFrom('127.0.0.1', stack.url + '/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      body: `${Buffer.byteLength(tooLarge).toString(16)}\r\n${tooLarge}\r\n0\r\n\r\n`,
    })
    expect(chunked.status).toBe(413)
    expect(chunked.json<{ error: string }>().error).toBe('PAYLOAD_TOO_LARGE')
  })

  test('passes the real client IP to the services, not one the client claims', async () => {
    const name = `ip${crypto.randomUUID().slice(0, 8)}`
    const password = 'correct horse battery staple'
    const registered = await fetch(stack.url + '/users', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: name, email: `${name}@example.com`, password }),
    })
    expect(registered.status).toBe(201)

    const login = await requestFrom(CLIENT_ADDRESS, stack.url + '/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.7' },
      body: JSON.stringify({ login: name, password }),
    })
    expect(login.status).toBe(200)
    const { accessToken } = login.json<{ accessToken: string }>()

    const sessions = await fetch(stack.url + '/auth/sessions', { headers: { authorization: `Bearer ${accessToken}` } })
    expect(sessions.status).toBe(200)
    expect((await sessions.json()).map((session: { ip: string }) => session.ip)).toEqual([CLIENT_ADDRESS])
  })

  test('starts a separate instance with its own settings, reachable directly', async () => {
    const extra = await stack.startInstance('user', { env: { LOG_LEVEL: 'debug' } })
    const response = await fetch(`${extra.url}/users/ready`)
    expect(response.status).toBe(200)
    await stack.kill(extra, 'SIGTERM')
    expect(stack.instances).not.toContain(extra)
  })

  test('keeps answering through Caddy when an instance dies', async () => {
    const [first] = stack.instancesOf('user')
    await stack.kill(first)
    for (let i = 0; i < 10; i++) {
      const response = await fetch(stack.url + '/users/health')
      expect(response.status).toBe(200)
    }
  })
})
