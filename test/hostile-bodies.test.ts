import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { SERVICES, SERVICE_NAMES } from '../scripts/stack'
import { call, login, register, type Account, type Tokens } from './client'
import { startTestStack, type TestStack } from './harness'

/**
 * Bodies built to hurt, sent through Caddy to real services: deep nesting must be refused
 * at once without holding the instance for its other clients, and bodies that are not JSON
 * (a cross-site form post) must never reach a handler.
 */

/** Bun 1.4.5 ignores bunfig's test timeout; starting or stopping a stack can take longer than 5 s. */
const STACK_HOOK_TIMEOUT_MS = 60_000
const ROUTED = SERVICE_NAMES.map((service) => ({ service, prefix: SERVICES[service].prefix }))
/** 250 KB of `{"a":` nesting: about 50 000 levels, which held an auth instance ~23 s before the limit. */
const DEEP_BODY = `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`
/** The bound for a health check while the bad bodies are in flight. */
const HEALTH_WITHIN_MS = 100
/** A refused body is answered long before this; an instance busy with the value takes seconds. */
const REFUSED_WITHIN_MS = 2000
const BODY_METHODS = new Set(['post', 'put', 'patch', 'delete'])

let stack: TestStack
let account: Account
let tokens: Tokens

beforeAll(async () => {
  stack = await startTestStack({ auth: 1, user: 1, chat: 1 })
  account = await register(stack.url)
  tokens = await login(stack.url, account)
}, STACK_HOOK_TIMEOUT_MS)

afterAll(async () => {
  await stack?.stop()
}, STACK_HOOK_TIMEOUT_MS)

/** Every public route that can carry a body, from the services' own OpenAPI documents, path parameters filled in. */
async function bodyRoutes(prefix: string): Promise<{ method: string; path: string }[]> {
  const document = (await (await fetch(`${stack.url}${prefix}/swagger/json`)).json()) as { paths: Record<string, Record<string, unknown>> }
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.keys(methods)
      .filter((method) => BODY_METHODS.has(method))
      .map((method) => ({ method: method.toUpperCase(), path: path.replace(/\{[^}]+\}/g, crypto.randomUUID()) })),
  )
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now()
  const value = await work()
  return { value, ms: performance.now() - started }
}

/**
 * The fastest of three health checks, asked while bad requests are in flight: one slow
 * scheduling slice on a shared machine does not count, while a blocked instance fails all three.
 */
async function fastestHealth(prefix: string): Promise<number> {
  const health: number[] = []
  for (let i = 0; i < 3; i++) {
    const { value, ms } = await timed(() => fetch(`${stack.url}${prefix}/health`))
    expect(value.status).toBe(200)
    health.push(ms)
  }
  return Math.min(...health)
}

describe('deeply nested JSON', () => {
  test.each(ROUTED)('250 KB of nesting gets 400 MALFORMED_JSON at once on every $service route with a body, while its health answers within 100 ms', async ({ prefix }) => {
    const routes = await bodyRoutes(prefix)
    expect(routes.length).toBeGreaterThan(0)
    const answers = routes.map((route) =>
      timed(() => call(stack.url, route.method, route.path, { token: tokens.accessToken, raw: DEEP_BODY })).then(({ value, ms }) => ({ ...route, ms, ...value })),
    )
    expect(await fastestHealth(prefix)).toBeLessThan(HEALTH_WITHIN_MS)
    for (const answer of await Promise.all(answers)) {
      expect({ route: `${answer.method} ${answer.path}`, status: answer.status, error: answer.body.error }).toEqual({
        route: `${answer.method} ${answer.path}`,
        status: 400,
        error: 'MALFORMED_JSON',
      })
      expect(answer.ms).toBeLessThan(REFUSED_WITHIN_MS)
    }
  })

  test('nesting up to 32 levels is still read as JSON (and judged by the schema)', async () => {
    const body = `${'{"a":'.repeat(31)}1${'}'.repeat(31)}`
    const answer = await call(stack.url, 'POST', '/auth/login', { raw: `{"login":${body},"password":"x"}` })
    expect(answer.status).toBe(422)
    expect(answer.body.details.map((detail: { field: string }) => detail.field)).toContain('login')
  })
})

describe('long strings', () => {
  /** Just under the 1 MiB body limit, so the body itself is accepted and the field is judged. */
  const LONG = 'a'.repeat(1_000_000)
  const FIELDS = [
    { field: 'login', method: 'POST', path: '/auth/login', body: { login: LONG, password: 'x' }, signedIn: false },
    { field: 'displayName', method: 'POST', path: '/users', body: { username: 'long_name', email: 'long@example.com', password: 'correct horse battery staple', displayName: LONG }, signedIn: false },
    { field: 'bio', method: 'PATCH', path: '/users/me', body: { bio: LONG }, signedIn: true },
    { field: 'name', method: 'POST', path: '/chat/rooms', body: { name: LONG }, signedIn: true },
  ] as const

  // Each text pattern used to backtrack once per character when the error was described: a
  // megabyte held the instance for seconds, and Caddy then answered 503 to everyone else.
  test.each(FIELDS)('a string of 1 MB in $field gets 422 at once, while the instance keeps answering its health within 100 ms', async ({ field, method, path, body, signedIn }) => {
    const prefix = `/${path.split('/')[1]}`
    const answers = Array.from({ length: 3 }, () =>
      timed(() => call(stack.url, method, path, { body, token: signedIn ? tokens.accessToken : undefined })),
    )
    expect(await fastestHealth(prefix)).toBeLessThan(HEALTH_WITHIN_MS)
    for (const { value, ms } of await Promise.all(answers)) {
      expect({ status: value.status, fields: value.body.details?.map((detail: { field: string }) => detail.field) }).toEqual({ status: 422, fields: [field] })
      expect(ms).toBeLessThan(REFUSED_WITHIN_MS)
    }
  })
})

describe('bodies that are not JSON', () => {
  const FORMS = [
    ['form-encoded', 'application/x-www-form-urlencoded', (fields: Record<string, string>) => new URLSearchParams(fields).toString()],
    ['multipart', 'multipart/form-data; boundary=b', (fields: Record<string, string>) =>
      Object.entries(fields).map(([name, value]) => `--b\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`).join('') + '--b--\r\n'],
    ['plain-text', 'text/plain', (fields: Record<string, string>) => JSON.stringify(fields)],
  ] as const

  test.each(FORMS)('a %s login gets 415 and is not counted as a failed login', async (_, contentType, encode) => {
    const victim = await register(stack.url)
    // More than the 10 failures that would lock this login from this IP, had they counted.
    for (let i = 0; i < 12; i++) {
      const answer = await call(stack.url, 'POST', '/auth/login', { raw: encode({ login: victim.username, password: 'wrong password' }), headers: { 'content-type': contentType } })
      expect(answer.status).toBe(415)
      expect(answer.body.error).toBe('UNSUPPORTED_MEDIA_TYPE')
    }
    expect((await call(stack.url, 'POST', '/auth/login', { body: { login: victim.username, password: victim.password } })).status).toBe(200)
  })

  test.each(FORMS)('a %s registration gets 415 and creates no account', async (_, contentType, encode) => {
    const username = `form_${crypto.randomUUID().slice(0, 8)}`
    const fields = { username, email: `${username}@example.com`, password: 'correct horse battery staple' }
    const answer = await call(stack.url, 'POST', '/users', { raw: encode(fields), headers: { 'content-type': contentType } })
    expect(answer.status).toBe(415)
    expect(answer.body.error).toBe('UNSUPPORTED_MEDIA_TYPE')
    expect(await stack.sql`select id from users.users where username = ${username}`).toHaveLength(0)
  })
})

describe('caching', () => {
  test('answers with tokens or personal data, and errors, say Cache-Control: no-store; the public keys may be cached', async () => {
    const answers = {
      login: await call(stack.url, 'POST', '/auth/login', { body: { login: account.username, password: account.password } }),
      refresh: await call(stack.url, 'POST', '/auth/refresh', { body: { refreshToken: tokens.refreshToken } }),
      sessions: await call(stack.url, 'GET', '/auth/sessions', { token: tokens.accessToken }),
      profile: await call(stack.url, 'GET', '/users/me', { token: tokens.accessToken }),
      rooms: await call(stack.url, 'GET', '/chat/rooms?mine=true', { token: tokens.accessToken }),
      unauthenticated: await call(stack.url, 'GET', '/users/me'),
    }
    const cacheControl = Object.fromEntries(Object.entries(answers).map(([name, answer]) => [name, answer.headers.get('cache-control')]))
    expect(cacheControl).toEqual(Object.fromEntries(Object.keys(answers).map((name) => [name, 'no-store'])))
    expect((await fetch(`${stack.url}/auth/.well-known/jwks.json`)).headers.get('cache-control')).toBe('public, max-age=300')
  })
})
