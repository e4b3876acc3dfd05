import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT, SERVICES } from '../scripts/stack'
import { call, login, register, type Tokens } from './client'
import { requestFrom, startTestStack, type TestStack } from './harness'
import { waitUntil } from './wait'
import { wsUrl } from './ws-client'

/**
 * What Caddy adds in front of the services: the static web client and /docs, security
 * headers, compression, and the routes it keeps to itself.
 */

/** Bun 1.4.5 ignores bunfig's test timeout; starting or stopping a stack can take longer than 5 s. */
const STACK_HOOK_TIMEOUT_MS = 60_000
const BROWSER_TEST_TIMEOUT_MS = 60_000
const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
const SPECS = [
  { name: 'auth', prefix: '/auth', title: 'Auth service' },
  { name: 'users', prefix: '/users', title: 'User service' },
  { name: 'chat', prefix: '/chat', title: 'Chat service' },
]
/** Caddy compresses answers from this size on; the documents and scripts are far above it. */
const ENCODE_MINIMUM_BYTES = 512
/** Bun refuses a request line or headers above 16 KiB. */
const OVERSIZED_HEADER = 't'.repeat(20 * 1024)
const WEB_CLIENT_BUILT = existsSync(join(REPO_ROOT, 'scripts', 'build-web.ts'))

type OpenApiOperation = {
  summary?: string
  tags?: string[]
  security?: Record<string, string[]>[]
  responses?: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>
}
type OpenApiDocument = {
  info: { title: string }
  paths: Record<string, Record<string, OpenApiOperation>>
  components?: { securitySchemes?: Record<string, { type?: string; scheme?: string }> }
}

let stack: TestStack
let tokens: Tokens

beforeAll(async () => {
  stack = await startTestStack({ auth: 1, user: 1, chat: 1 })
  tokens = await login(stack.url, await register(stack.url))
}, STACK_HOOK_TIMEOUT_MS)

afterAll(async () => {
  await stack?.stop()
}, STACK_HOOK_TIMEOUT_MS)

/** Every URL an HTML page or a stylesheet makes the browser load: scripts, stylesheets, icons, images, CSS url()s. */
function referencedUrls(text: string): string[] {
  const attributes = [...text.matchAll(/<(?:script|link|img|source)\b[^>]*?\s(?:src|href)="([^"]*)"/g)].map((match) => match[1])
  const cssUrls = [...text.matchAll(/url\(\s*['"]?([^'")]+)['"]?\s*\)/g)].map((match) => match[1])
  return [...attributes, ...cssUrls].filter((url) => !url.startsWith('#') && !url.startsWith('data:'))
}

async function fetchRaw(path: string, headers: Record<string, string> = {}): Promise<Response> {
  // `decompress: false` keeps the body and Content-Encoding as Caddy sent them.
  return fetch(stack.url + path, { headers, redirect: 'manual', decompress: false } as RequestInit)
}

async function loadBrowser() {
  if (!existsSync(CHROMIUM)) return null
  return import('playwright-core').then((module) => module.chromium).catch(() => null)
}

describe('the /docs page', () => {
  test('is served with every file it references from this origin, none from the internet', async () => {
    const pages = ['/docs', '/docs/', '/docs/protocol.html']
    const seen = new Set<string>()
    const queue = [...pages]
    while (queue.length > 0) {
      const path = queue.shift()!
      if (seen.has(path)) continue
      seen.add(path)
      const response = await fetch(stack.url + path)
      expect({ path, status: response.status }).toEqual({ path, status: 200 })
      const type = response.headers.get('content-type') ?? ''
      if (!/text\/(html|css)/.test(type)) continue
      for (const url of referencedUrls(await response.text())) {
        expect({ path, url }).toEqual({ path, url: expect.stringMatching(/^\/(?!\/)/) })
        queue.push(new URL(url, stack.url + path).pathname)
      }
    }
    // The pages, Swagger UI's script, preset and styles, the pages' own script and styles, the icon.
    expect(seen).toEqual(
      new Set([
        ...pages,
        '/docs/swagger-ui/swagger-ui.css',
        '/docs/swagger-ui/swagger-ui-bundle.js',
        '/docs/swagger-ui/swagger-ui-standalone-preset.js',
        '/docs/swagger-ui/favicon-32x32.png',
        '/docs/docs.css',
        '/docs/docs.js',
      ]),
    )
  })

  test('lists the three OpenAPI documents, and the protocol page is rendered from the markdown', async () => {
    const script = await (await fetch(`${stack.url}/docs/docs.js`)).text()
    for (const { name, prefix } of SPECS) expect(script).toContain(`{ name: '${name}', url: '${prefix}/swagger/json' }`)
    const page = await (await fetch(`${stack.url}/docs/`)).text()
    const protocol = await (await fetch(`${stack.url}/docs/protocol.html`)).text()
    // No absolute URL anywhere, except as text in the protocol's code samples (ws://localhost:8080…).
    for (const text of [page, script, protocol.replace(/<code[^>]*>[^<]*<\/code>/g, '')]) expect(text).not.toMatch(/(https?|wss?):\/\//)
    expect(protocol).toContain('<h1 id="websocket-protocol">')
    expect(protocol).toContain('<table>')
    expect(protocol).toContain('<code>4401</code>')
  })

  test("sends each service's own OpenAPI page to /docs with its document selected", async () => {
    for (const { name, prefix } of SPECS) {
      for (const path of [`${prefix}/swagger`, `${prefix}/swagger/`]) {
        const response = await fetchRaw(path)
        expect({ path, status: response.status, location: response.headers.get('location') }).toEqual({
          path,
          status: 302,
          location: `/docs/?urls.primaryName=${name}`,
        })
      }
    }
  })

  for (const { prefix, title } of SPECS) {
    test(`${prefix}/swagger/json documents every route with a summary and tag, the error shape, and Bearer where it is needed`, async () => {
      const response = await fetch(`${stack.url}${prefix}/swagger/json`)
      expect(response.status).toBe(200)
      const document = (await response.json()) as OpenApiDocument
      expect(document.info.title).toBe(title)
      expect(document.components?.securitySchemes?.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' })
      const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
        Object.entries(methods).map(([method, operation]) => ({ route: `${method.toUpperCase()} ${path}`, operation })),
      )
      expect(operations.length).toBeGreaterThan(2)
      for (const { route, operation } of operations) {
        expect({ route, summary: Boolean(operation.summary), tags: (operation.tags ?? []).length > 0 }).toEqual({ route, summary: true, tags: true })
        expect(route).not.toMatch(/\/(internal|metrics|swagger)\b/)
        if (/\/(health|ready)$|jwks/.test(route)) continue
        const errorSchema = operation.responses?.['422']?.content?.['application/json']?.schema
        expect({ route, errorSchema }).toEqual({ route, errorSchema: { $ref: '#/components/schemas/Error' } })
      }
      // Paths with a dot are documented too (the plugin's default leaves them out).
      if (prefix === '/auth') expect(Object.keys(document.paths)).toContain('/auth/.well-known/jwks.json')
      const secured = operations.filter(({ operation }) => operation.security?.some((requirement) => 'bearerAuth' in requirement))
      expect(secured.length).toBeGreaterThan(0)
      // The routes a caller reaches without a token are exactly the contract's public ones.
      const open = operations.filter(({ operation }) => !secured.some((s) => s.operation === operation)).map(({ route }) => route)
      // Mailed links carry their own token instead of a session, and so does a login's second step (its mfaToken).
      const PUBLIC = ['POST /auth/login', 'POST /auth/refresh', 'GET /auth/.well-known/jwks.json', 'POST /users/', 'POST /users', 'POST /auth/password/forgot', 'POST /auth/password/reset', 'POST /auth/email/verify', 'POST /auth/mfa/verify']
      expect(open.filter((route) => !/\/(health|ready)$/.test(route) && !PUBLIC.includes(route))).toEqual([])
    })
  }

  test('renders in a browser: documents switch, Bearer try-it-out and the socket work, nothing comes from elsewhere or breaks the policy', async () => {
    const chromium = await loadBrowser()
    if (chromium === null) return console.warn('skipped: no playwright-core or no /usr/bin/chromium')
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
    try {
      const page = await browser.newPage()
      const foreign: string[] = []
      const problems: string[] = []
      await page.route('**/*', (route) => {
        if (new URL(route.request().url()).origin === stack.url) return route.continue()
        foreign.push(route.request().url())
        return route.abort()
      })
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(message.text())
      })
      page.on('pageerror', (error) => problems.push(error.message))
      await page.addInitScript(() => {
        document.addEventListener('securitypolicyviolation', (event) => console.error(`CSP ${event.violatedDirective} ${event.blockedURI}`))
      })

      await page.goto(`${stack.url}/docs?urls.primaryName=users`)
      const title = page.locator('.swagger-ui .info .title')
      await title.getByText('User service').waitFor({ timeout: 15_000 })
      // The Bearer scheme is offered, and "Try it out" calls the API from the page (the policy allows it).
      await page.locator('.auth-wrapper .authorize').click()
      const dialog = page.locator('.modal-ux')
      await dialog.locator('input').fill(tokens.accessToken)
      await dialog.locator('button.authorize').click()
      await dialog.locator('button.btn-done').click()
      const operation = page.locator('#operations-Users-getUsersMe')
      await operation.locator('.opblock-summary').click()
      await operation.getByRole('button', { name: 'Try it out' }).click()
      await operation.getByRole('button', { name: 'Execute' }).click()
      await operation.locator('.live-responses-table .response-col_status').getByText('200').waitFor({ timeout: 10_000 })
      await page.selectOption('.topbar select', { label: 'chat' })
      await title.getByText('Chat service').waitFor({ timeout: 15_000 })
      expect(await page.locator('.opblock').count()).toBeGreaterThan(5)

      // The page's policy lets it reach the WebSocket (through Caddy, with the browser's Accept-Encoding).
      const frame = await page.evaluate(
        ({ url, token }) =>
          new Promise<string>((resolve, reject) => {
            const socket = new WebSocket(url)
            socket.onopen = () => socket.send(JSON.stringify({ type: 'auth', token }))
            socket.onmessage = (event) => resolve(String(event.data))
            socket.onerror = () => reject(new Error('socket error'))
          }),
        { url: wsUrl(stack.url), token: tokens.accessToken },
      )
      expect(JSON.parse(frame)).toMatchObject({ type: 'ready', sessionId: tokens.sessionId })

      await page.getByRole('link', { name: 'WebSocket protocol' }).click()
      await page.locator('main.protocol h1').getByText('WebSocket protocol').waitFor()
      expect({ foreign, problems }).toEqual({ foreign: [], problems: [] })
    } finally {
      await browser.close()
    }
  }, BROWSER_TEST_TIMEOUT_MS)
})

describe('the web client at /', () => {
  test.skipIf(!WEB_CLIENT_BUILT)('is served with its files, and a browser opening a client route gets the app', async () => {
    const index = await fetch(stack.url + '/')
    expect(index.status).toBe(200)
    const html = await index.text()
    for (const url of referencedUrls(html)) {
      expect(url).toMatch(/^\/(?!\/)|^[\w.-]+(\/|$)/)
      const asset = await fetch(new URL(url, stack.url + '/'))
      expect({ url, status: asset.status }).toEqual({ url, status: 200 })
    }
    const deepLink = await fetch(stack.url + '/rooms/some-room', { headers: { accept: 'text/html,application/xhtml+xml' } })
    expect(deepLink.status).toBe(200)
    expect(await deepLink.text()).toBe(html)
  })

  test.skipIf(!WEB_CLIENT_BUILT)('starts in a browser within the security policy, from a deep link', async () => {
    const chromium = await loadBrowser()
    if (chromium === null) return console.warn('skipped: no playwright-core or no /usr/bin/chromium')
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
    try {
      const page = await browser.newPage()
      const violations: string[] = []
      await page.exposeFunction('reportViolation', (violation: string) => violations.push(violation))
      await page.addInitScript(() => {
        const report = (window as unknown as { reportViolation: (violation: string) => void }).reportViolation
        document.addEventListener('securitypolicyviolation', (event) => report(`${event.violatedDirective} ${event.blockedURI}`))
      })
      await page.goto(`${stack.url}/rooms/some-room`)
      await page.locator('#auth-view').waitFor({ state: 'visible', timeout: 15_000 })
      expect(violations).toEqual([])
    } finally {
      await browser.close()
    }
  }, BROWSER_TEST_TIMEOUT_MS)

  test('answers a missing file with the JSON 404 unless a browser is navigating', async () => {
    for (const path of ['/no-such-file.js', '/docs/no-such-file.js', '/docs/swagger-ui/']) {
      const response = await fetch(stack.url + path, { headers: { accept: 'application/json' } })
      expect({ path, status: response.status }).toEqual({ path, status: 404 })
      expect(await response.json()).toEqual({ error: 'NOT_FOUND', message: expect.any(String) })
    }
    // /docs is not the app: a missing page there is a 404 even for a browser.
    const docsPage = await fetch(stack.url + '/docs/missing.html', { headers: { accept: 'text/html' } })
    expect(docsPage.status).toBe(404)
  })
})

describe('security headers', () => {
  const REQUIRED = {
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'permissions-policy': expect.stringContaining('camera=()'),
    'content-security-policy': expect.any(String),
  }

  test('are on pages, files, API answers, redirects and errors alike', async () => {
    const paths = ['/', '/docs/', '/docs/docs.js', '/auth/health', '/users/me', '/chat/rooms', '/auth/swagger', '/no-such-thing', '/internal/x']
    for (const path of paths) {
      const response = await fetchRaw(path)
      const headers = Object.fromEntries(Object.keys(REQUIRED).map((name) => [name, response.headers.get(name)]))
      expect({ path, headers }).toEqual({ path, headers: REQUIRED })
    }
  })

  test('the policy allows this origin and its WebSocket only, with no inline script and no framing', async () => {
    const policy = (await fetchRaw('/docs/')).headers.get('content-security-policy')!
    const directives = Object.fromEntries(policy.split(';').map((part) => part.trim().split(/\s+/)).map(([name, ...values]) => [name, values]))
    const host = new URL(stack.url).host
    expect(directives['default-src']).toEqual(["'self'"])
    expect(directives['script-src']).toEqual(["'self'"])
    expect(directives['style-src']).toEqual(["'self'"])
    expect(directives['connect-src']).toEqual(["'self'", `ws://${host}`, `wss://${host}`])
    expect(directives['frame-ancestors']).toEqual(["'none'"])
    expect(directives['object-src']).toEqual(["'none'"])
  })
})

describe('compression', () => {
  for (const [what, path] of [
    ['a JSON answer from a service', '/auth/swagger/json'],
    ['a script', '/docs/swagger-ui/swagger-ui-bundle.js'],
    ['a stylesheet', '/docs/swagger-ui/swagger-ui.css'],
    ['a page', '/docs/protocol.html'],
  ] as const) {
    test(`${what} is sent gzip- or zstd-encoded when the client accepts it`, async () => {
      const plain = await fetchRaw(path)
      expect(plain.headers.get('content-encoding')).toBeNull()
      const body = new Uint8Array(await plain.arrayBuffer())
      expect(body.length).toBeGreaterThan(ENCODE_MINIMUM_BYTES)

      const gzip = await fetchRaw(path, { 'accept-encoding': 'gzip' })
      expect(gzip.headers.get('content-encoding')).toBe('gzip')
      expect(gzip.headers.get('vary')).toContain('Accept-Encoding')
      expect(Bun.gunzipSync(new Uint8Array(await gzip.arrayBuffer()))).toEqual(body)

      const zstd = await fetchRaw(path, { 'accept-encoding': 'zstd, gzip' })
      expect(zstd.headers.get('content-encoding')).toBe('zstd')
      expect(new Uint8Array(Bun.zstdDecompressSync(new Uint8Array(await zstd.arrayBuffer())))).toEqual(body)
    })
  }

  test('leaves WebSockets working: the upgrade, authentication and a large message, asked with Accept-Encoding', async () => {
    const room = await call(stack.url, 'POST', '/chat/rooms', { token: tokens.accessToken, body: { name: 'compressed' } })
    expect(room.status).toBe(201)
    const socket = new WebSocket(wsUrl(stack.url), {
      headers: { authorization: `Bearer ${tokens.accessToken}`, 'accept-encoding': 'gzip, deflate, br, zstd', origin: stack.url },
    } as never)
    const frames: Record<string, unknown>[] = []
    const waitFor = (type: string) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${type} frame; got ${JSON.stringify(frames)}`)), 5000)
        const check = () => {
          const found = frames.find((frame) => frame.type === type)
          if (found === undefined) return
          clearTimeout(timer)
          socket.removeEventListener('message', check)
          resolve(found)
        }
        socket.addEventListener('message', check)
        check()
      })
    socket.addEventListener('message', (event) => frames.push(JSON.parse(String(event.data))))
    try {
      expect(await waitFor('ready')).toMatchObject({ sessionId: tokens.sessionId })
      socket.send(JSON.stringify({ type: 'join', room: room.body.id }))
      await waitFor('joined')
      const body = 'compress me '.repeat(300)
      socket.send(JSON.stringify({ type: 'send', room: room.body.id, body, clientId: crypto.randomUUID() }))
      expect(await waitFor('message')).toMatchObject({ body, seq: 1 })
    } finally {
      socket.close()
    }
  })
})

describe('routes Caddy keeps to itself', () => {
  test('metrics are not public, however the path is spelled, and the request never reaches a service', async () => {
    const variants = ['/auth/metrics', '/users/metrics', '/chat/metrics', '/AUTH/metrics', '/auth//metrics', '/auth/%6detrics', '/auth/x/../metrics', '/auth/metrics/', '/chat/metrics?format=json']
    const requestIds: string[] = []
    for (const path of variants) {
      const response = await requestFrom('127.0.0.1', stack.url + path)
      expect({ path, status: response.status }).toEqual({ path, status: 404 })
      expect(response.json()).toEqual({ error: 'NOT_FOUND', message: expect.any(String) })
      requestIds.push(response.headers.get('x-request-id')!)
    }
    // Each service logs the request id Caddy gives it; none of these may appear. A request sent
    // to each instance afterwards, once logged, shows that anything earlier would be logged too.
    const marker = `after-metrics-${crypto.randomUUID()}`
    for (const instance of stack.instances) {
      await fetch(`${instance.url}${SERVICES[instance.service].prefix}/health`, { headers: { 'x-request-id': marker } }).then((r) => r.arrayBuffer())
      await waitUntil(async () => (await Bun.file(instance.child.logFile!).text()).includes(marker), `${instance.name} has logged the marker request`)
    }
    for (const instance of stack.instances) {
      const log = await Bun.file(instance.child.logFile!).text()
      expect({ instance: instance.name, reached: requestIds.filter((id) => log.includes(id)) }).toEqual({ instance: instance.name, reached: [] })
    }
  })

  test('an oversized request line or header gets the 431 in the error shape', async () => {
    for (const [path, headers] of [
      [`/users?q=${'q'.repeat(100 * 1024)}`, {}],
      ['/users/me', { authorization: `Bearer ${OVERSIZED_HEADER}` }],
    ] as const) {
      const response = await fetch(stack.url + path, { headers })
      expect(response.status).toBe(431)
      expect(response.headers.get('content-type')).toContain('application/json')
      expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
      expect(await response.json()).toEqual({ error: 'HEADERS_TOO_LARGE', message: expect.any(String) })
    }
  })

  // Bun's own parser used to refuse these with a bare 431 and close the connection while Caddy
  // was still sending the body; Caddy turned the failed upload into a 503 now and then.
  test('an oversized Authorization header on a request with a body gets the 431, every time', async () => {
    const statuses: number[] = []
    for (const body of ['x', 'x'.repeat(200 * 1024)]) {
      for (let attempt = 0; attempt < 40; attempt++) {
        const response = await fetch(`${stack.url}/auth/logout`, {
          method: 'POST',
          headers: { authorization: `Bearer ${'A'.repeat(20_000)}`, 'content-type': 'application/json' },
          body,
        })
        statuses.push(response.status)
        expect(await response.json()).toEqual({ error: 'HEADERS_TOO_LARGE', message: expect.any(String) })
      }
    }
    expect(statuses.filter((status) => status !== 431)).toEqual([])
  })
})
