import { afterAll, beforeAll, expect, test } from 'bun:test'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startTestStack, type TestStack } from './harness'
import { waitUntil } from './wait'

// Caddy's access log must not keep what a query string carries: one-time tokens travel in links.

const SECRET = 'secret-value'
let stack: TestStack
let dir: string
let logFile: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chat-access-log-'))
  logFile = join(dir, 'access.log')
  stack = await startTestStack({ auth: 1, user: 0, caddyAccessLog: `file ${logFile}` })
})

afterAll(async () => {
  await stack?.stop()
  await rm(dir, { recursive: true, force: true })
})

const logText = () => Bun.file(logFile).text().catch(() => '')

test('query values are redacted in the access log, in the URI and the Referer alike', async () => {
  // A value without a name (`?secret`) is a value all the same.
  const paths = [`/verify-email?token=${SECRET}`, `/auth/health?token=${SECRET}&other=${SECRET}&${SECRET}`]
  for (const path of paths) {
    await fetch(stack.url + path, { headers: { accept: 'text/html', referer: `${stack.url}/reset-password?${SECRET}&token=${SECRET}` } }).then((r) => r.arrayBuffer())
  }
  await waitUntil(async () => (await logText()).includes('/auth/health?'), 'both requests are in the access log')
  const text = await logText()
  expect(text).toContain('/auth/health?token=REDACTED&other=REDACTED&REDACTED')
  expect(text).toContain('/verify-email?token=REDACTED')
  expect(text).toContain('/reset-password?REDACTED&token=REDACTED')
  expect(text).not.toContain(SECRET)
})

test('invite codes are redacted in the access log: the page link, the accept call and a Referer', async () => {
  await fetch(`${stack.url}/invite/${SECRET}`, { headers: { accept: 'text/html', referer: `${stack.url}/invite/${SECRET}` } }).then((r) => r.arrayBuffer())
  await fetch(`${stack.url}/chat/invites/${SECRET}/accept?x=${SECRET}`, { method: 'POST' }).then((r) => r.arrayBuffer())
  await waitUntil(async () => (await logText()).includes('/chat/invites/'), 'both requests are in the access log')
  const text = await logText()
  expect(text).toContain('/invite/REDACTED')
  expect(text).toContain('/chat/invites/REDACTED/accept?x=REDACTED')
  expect(text).not.toContain(SECRET)
})
