import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readFile } from 'node:fs/promises'
import { API_DOC, renderApiDoc } from '../scripts/api-docs'
import { fetchServiceDocuments, listRoutes, type ServiceDocuments } from '../scripts/openapi'
import { startTestStack, type TestStack } from './harness'

/** Bun 1.4.5 ignores bunfig's test timeout, so without `--timeout` hooks get 5 s; starting a stack can take longer on a busy machine. */
const STACK_HOOK_TIMEOUT_MS = 60_000

describe('the API reference in docs/API.md', () => {
  let stack: TestStack
  let documents: ServiceDocuments

  beforeAll(async () => {
    stack = await startTestStack({ chat: 1 })
    documents = await fetchServiceDocuments(stack.url)
  }, STACK_HOOK_TIMEOUT_MS)
  afterAll(() => stack?.stop(), STACK_HOOK_TIMEOUT_MS)

  test('is what `bun run docs:api` writes from the OpenAPI documents the services serve', async () => {
    const current = await readFile(API_DOC, 'utf8')
    // On failure: run `bun run docs:api` and commit docs/API.md.
    expect(current).toBe(renderApiDoc(current, documents))
  })

  test('lists every route of the three OpenAPI documents with its method and path', async () => {
    const current = await readFile(API_DOC, 'utf8')
    const routes = listRoutes(documents)
    expect(routes.length).toBeGreaterThan(20)
    for (const route of routes) expect(current).toContain(`### ${route.method.toUpperCase()} \`${route.path}\``)
  })
})
