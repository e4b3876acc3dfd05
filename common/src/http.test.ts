import { describe, expect, test } from 'bun:test'
import { t } from 'elysia'
import { ClientOfflineError } from 'redis'
import { BaseConfig, loadConfig } from './config'
import type { Sql } from './db'
import { errorResponses } from './errors'
import { createServiceApp, loggedPath } from './http'
import type { Logger } from './logger'
import type { Redis } from './redis'

/**
 * The HTTP shell in-process, through `app.handle`: body parsing, limits and the mapping of
 * failures to the contract's answers, without starting a process. The real-process side of
 * the same rules is in test/hostile-bodies.test.ts and test/dependency-down.test.ts.
 */

const config = { ...loadConfig(BaseConfig, {}), MAX_BODY_BYTES: 4096 }
const logged: { msg: string; fields?: Record<string, unknown> }[] = []
const record = (msg: string, fields?: Record<string, unknown>) => void logged.push({ msg, fields })
const log: Logger = { debug: record, info: () => {}, warn: record, error: record }
/** Only `/ready` touches them, and no test here calls it. */
const unusedStores = { sql: {} as Sql, redis: {} as Redis }

const Profile = t.Object({ name: t.String({ maxLength: 20 }) }, { additionalProperties: false })
const Options = t.Object({ scope: t.Optional(t.String()) }, { additionalProperties: false })
const SECRET = 'tok_secret_value_123'

const app = createServiceApp({ service: 'test', prefix: '/test', config, log, ...unusedStores, openapi: { title: 'Test', description: 'Test' } })
  .post('/test/profile', ({ body }) => body, { body: Profile, response: { 200: Profile, ...errorResponses } })
  .post('/test/options', ({ body }) => ({ scope: body.scope ?? 'default' }), { body: Options })
  .post('/test/no-body', () => ({ done: true }))
  .get('/test/broken', () => ({ name: 42, token: SECRET }) as unknown as { name: string }, { response: { 200: Profile } })
  .get('/test/redis-down', () => {
    throw new ClientOfflineError()
  })
  .post('/test/invites/:code/accept', () => {
    throw Object.assign(new Error('write CONNECTION_CLOSED 127.0.0.1:5432'), { code: 'CONNECTION_CLOSED' })
  })
  .get('/test/postgres-down', () => {
    throw Object.assign(new Error('write CONNECTION_CLOSED 127.0.0.1:5432'), { code: 'CONNECTION_CLOSED' })
  })

function post(path: string, body: BodyInit | null, contentType?: string): Promise<Response> {
  const headers = contentType === undefined ? undefined : { 'content-type': contentType }
  return app.handle(new Request(`http://localhost${path}`, { method: 'POST', headers, body }))
}

const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`

describe('request bodies are JSON only', () => {
  test.each([
    ['form-encoded', 'name=ada', 'application/x-www-form-urlencoded'],
    ['multipart', '--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nada\r\n--x--\r\n', 'multipart/form-data; boundary=x'],
    ['plain text', '{"name":"ada"}', 'text/plain'],
    ['JSON under another name', '{"name":"ada"}', 'application/jsonp'],
  ])('a %s body gets 415 UNSUPPORTED_MEDIA_TYPE', async (_, body, contentType) => {
    const response = await post('/test/profile', body, contentType)
    expect(response.status).toBe(415)
    expect(await response.json()).toMatchObject({ error: 'UNSUPPORTED_MEDIA_TYPE' })
  })

  test('a body without any Content-Type gets 415', async () => {
    const response = await post('/test/profile', new TextEncoder().encode('{"name":"ada"}'))
    expect(response.headers.get('content-type')).toStartWith('application/json')
    expect(response.status).toBe(415)
  })

  test('a form post to a route that takes no body is refused too, before the handler runs', async () => {
    expect((await post('/test/no-body', 'a=1', 'application/x-www-form-urlencoded')).status).toBe(415)
  })

  test('JSON with a charset parameter or in upper case is accepted', async () => {
    expect(await (await post('/test/profile', '{"name":"ada"}', 'application/json; charset=utf-8')).json()).toEqual({ name: 'ada' })
    expect((await post('/test/profile', '{"name":"ada"}', 'Application/JSON')).status).toBe(200)
  })

  test('an empty body, whatever its type, is no body: {} for a route whose fields are optional', async () => {
    for (const contentType of [undefined, 'text/plain;charset=UTF-8', 'application/json']) {
      const response = await post('/test/options', '', contentType)
      expect(await response.json()).toEqual({ scope: 'default' })
    }
  })

  test('an empty body on a route with required fields gets 422 naming them', async () => {
    const response = await post('/test/profile', '', 'application/json')
    expect(response.status).toBe(422)
    expect((await response.json()).details).toEqual([{ field: 'name', message: expect.any(String) }])
  })
})

describe('nesting and size limits', () => {
  test(`JSON nested ${BaseConfig.properties.JSON_MAX_DEPTH.default} levels deep is parsed; one level more gets 400 MALFORMED_JSON`, async () => {
    const atLimit = await post('/test/profile', nested(config.JSON_MAX_DEPTH), 'application/json')
    expect(atLimit.status).toBe(422)
    const over = await post('/test/profile', nested(config.JSON_MAX_DEPTH + 1), 'application/json')
    expect(over.status).toBe(400)
    expect(await over.json()).toEqual({ error: 'MALFORMED_JSON', message: `JSON bodies may nest at most ${config.JSON_MAX_DEPTH} levels deep` })
  })

  test('nesting is refused on routes that take no body too', async () => {
    expect((await post('/test/no-body', '['.repeat(1000), 'application/json')).status).toBe(400)
  })

  test('a declared length over the limit gets 413 PAYLOAD_TOO_LARGE before the body is read', async () => {
    const response = await post('/test/profile', JSON.stringify({ name: 'x'.repeat(5000) }), 'application/json')
    expect(response.status).toBe(413)
    expect(await response.json()).toMatchObject({ error: 'PAYLOAD_TOO_LARGE' })
    expect(response.headers.get('cache-control')).toBe('no-store')
  })

  test(`a request line plus headers over ${BaseConfig.properties.MAX_HEADER_BYTES.default} bytes gets 431 HEADERS_TOO_LARGE; just under passes`, async () => {
    const withAuthorization = (length: number) =>
      app.handle(new Request('http://localhost/test/no-body', { method: 'POST', headers: { authorization: 'A'.repeat(length) } }))
    const over = await withAuthorization(config.MAX_HEADER_BYTES)
    expect(over.status).toBe(431)
    expect(await over.json()).toMatchObject({ error: 'HEADERS_TOO_LARGE' })
    expect((await withAuthorization(config.MAX_HEADER_BYTES - 100)).status).toBe(200)
  })

  test('a body over the limit sent without a length gets 413 too', async () => {
    const chunks = [new TextEncoder().encode(`{"name":"${'x'.repeat(5000)}"}`)]
    const stream = new ReadableStream({ pull: (controller) => void (chunks.length > 0 ? controller.enqueue(chunks.shift()!) : controller.close()) })
    const response = await app.handle(
      new Request('http://localhost/test/profile', { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream }),
    )
    expect(response.status).toBe(413)
  })

  test('JSON that does not parse gets 400 MALFORMED_JSON', async () => {
    const response = await post('/test/profile', '{"name":', 'application/json')
    expect(response.status).toBe(400)
    expect(await response.json()).toEqual({ error: 'MALFORMED_JSON', message: 'The request body is not valid JSON' })
  })
})

describe('validation answers', () => {
  test('name each failing field, at most 20 of them, and never echo the value', async () => {
    const wide = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`field${i}`, SECRET]))
    const response = await post('/test/profile', JSON.stringify({ name: SECRET.repeat(3), ...wide }), 'application/json')
    expect(response.status).toBe(422)
    const text = await response.text()
    expect(text).not.toContain(SECRET)
    const { error, details } = JSON.parse(text)
    expect(error).toBe('VALIDATION_FAILED')
    expect(details).toHaveLength(20)
  })
})

describe('failures the service did not mean', () => {
  test('an answer that breaks its own schema is a logged 500 INTERNAL, and the log holds no part of the answer', async () => {
    logged.length = 0
    const response = await app.handle(new Request('http://localhost/test/broken'))
    expect(response.status).toBe(500)
    expect(await response.json()).toEqual({ error: 'INTERNAL', message: 'Something went wrong on our side' })
    expect(logged.map((line) => line.msg)).toContain('response does not match its schema')
    expect(JSON.stringify(logged)).not.toContain(SECRET)
  })

  test('the failure log of a route with a secret path parameter (an invite code) does not hold it', async () => {
    logged.length = 0
    const response = await app.handle(new Request('http://localhost/test/invites/s3cr3t-invite-code/accept', { method: 'POST' }))
    expect(response.status).toBe(503)
    expect(logged.map((line) => line.fields?.path)).toContain('/test/invites/REDACTED/accept')
    expect(JSON.stringify(logged)).not.toContain('s3cr3t-invite-code')
  })

  test('Redis unreachable (a node-redis error, which has no name of its own) is 503 DEPENDENCY_DOWN', async () => {
    const response = await app.handle(new Request('http://localhost/test/redis-down'))
    expect(response.status).toBe(503)
    expect(await response.json()).toMatchObject({ error: 'DEPENDENCY_DOWN' })
  })

  test('Postgres unreachable is 503 DEPENDENCY_DOWN', async () => {
    const response = await app.handle(new Request('http://localhost/test/postgres-down'))
    expect(response.status).toBe(503)
    expect(await response.json()).toMatchObject({ error: 'DEPENDENCY_DOWN' })
  })
})

describe('caching', () => {
  test('every answer, success or error, says Cache-Control: no-store', async () => {
    const answers = await Promise.all([
      post('/test/profile', '{"name":"ada"}', 'application/json'),
      post('/test/profile', 'name=ada', 'application/x-www-form-urlencoded'),
      app.handle(new Request('http://localhost/test/health')),
      app.handle(new Request('http://localhost/test/redis-down')),
      app.handle(new Request('http://localhost/nowhere')),
    ])
    expect(answers.map((response) => response.headers.get('cache-control'))).toEqual(Array(answers.length).fill('no-store'))
  })
})

describe('the client IP behind a proxy', () => {
  /** A real listener: the peer address comes from the socket, which `app.handle` has none of. */
  async function clientIpSeenWith(trustedProxies: string, forwardedFor: string): Promise<string> {
    const proxied = createServiceApp({
      service: 'test',
      prefix: '/test',
      config: { ...config, TRUSTED_PROXIES: trustedProxies },
      log,
      ...unusedStores,
      openapi: { title: 'Test', description: 'Test' },
    })
      .get('/test/ip', ({ clientIp }) => ({ clientIp }))
      .listen({ port: 0, hostname: '127.0.0.1' })
    try {
      const response = await fetch(`http://127.0.0.1:${proxied.server!.port}/test/ip`, { headers: { 'x-forwarded-for': forwardedFor } })
      return ((await response.json()) as { clientIp: string }).clientIp
    } finally {
      await proxied.stop(true)
    }
  }

  test('X-Forwarded-For is believed from a peer inside a trusted CIDR range (a proxy without a fixed address)', async () => {
    expect(await clientIpSeenWith('10.244.0.0/16,127.0.0.0/8', '198.51.100.7')).toBe('198.51.100.7')
  })

  test('X-Forwarded-For from a peer outside every trusted range is ignored', async () => {
    expect(await clientIpSeenWith('10.244.0.0/16', '198.51.100.7')).toBe('127.0.0.1')
  })

  test('a config built without loadConfig still cannot trust an entry that is no address or range', () => {
    expect(() => createServiceApp({ service: 'test', prefix: '/test', config: { ...config, TRUSTED_PROXIES: '10.0.0.0/33' }, log, ...unusedStores, openapi: { title: 'Test', description: 'Test' } })).toThrow(
      'TRUSTED_PROXIES is invalid: "10.0.0.0/33"',
    )
  })
})

describe('the request log', () => {
  test('a secret path parameter (an invite code) is logged as REDACTED; other paths as they are', () => {
    expect(loggedPath('/chat/invites/s3cr3t-code/accept', '/chat/invites/:code/accept')).toBe('/chat/invites/REDACTED/accept')
    expect(loggedPath('/chat/rooms/4f9c5f5e-6a3f-4c1e-9a57-2d1f0b8a9e11', '/chat/rooms/:id')).toBe('/chat/rooms/4f9c5f5e-6a3f-4c1e-9a57-2d1f0b8a9e11')
    // A path that does not fit the template segment by segment is not guessed at.
    expect(loggedPath('/chat/invites/a/b/accept', '/chat/invites/:code/accept')).toBe('/chat/invites/:code/accept')
  })
})
