import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import SwaggerParser from '@apidevtools/swagger-parser'
import { SERVICES, SERVICE_NAMES } from '../scripts/stack'
import { startTestStack, type TestStack } from './harness'

/** Bun 1.4.5 ignores bunfig's test timeout; starting or stopping a stack can take longer than 5 s. */
const STACK_HOOK_TIMEOUT_MS = 60_000
const ROUTED = SERVICE_NAMES.map((service) => ({ service, prefix: SERVICES[service].prefix }))

type Response = { description?: string; content?: Record<string, { schema?: Record<string, unknown> }> }
type Operation = { responses: Record<string, Response>; requestBody?: { content: Record<string, unknown> } }
type Document = { openapi: string; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } }

let stack: TestStack
const documents = new Map<string, Document>()

beforeAll(async () => {
  stack = await startTestStack({ auth: 1, user: 1, chat: 1, caddy: false })
  for (const { service, prefix } of ROUTED) {
    const response = await fetch(`${stack.instancesOf(service)[0].url}${prefix}/swagger/json`)
    expect(response.status).toBe(200)
    documents.set(prefix, (await response.json()) as Document)
  }
}, STACK_HOOK_TIMEOUT_MS)

afterAll(async () => {
  await stack?.stop()
}, STACK_HOOK_TIMEOUT_MS)

const operationsOf = (document: Document) =>
  Object.entries(document.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, operation]) => ({ route: `${method} ${path}`, operation })))

describe.each(ROUTED.map(({ prefix }) => prefix))('the OpenAPI document of %s', (prefix) => {
  test('passes the OpenAPI schema (validated by @apidevtools/swagger-parser)', async () => {
    // The validator dereferences in place: give it a copy.
    await expect(SwaggerParser.validate(structuredClone(documents.get(prefix)!) as never)).resolves.toBeDefined()
  })

  test('describes every response, and every error response is the named Error component', () => {
    const document = documents.get(prefix)!
    expect(document.components.schemas.Error).toMatchObject({ type: 'object', required: ['error', 'message'] })
    for (const { route, operation } of operationsOf(document)) {
      for (const [status, response] of Object.entries(operation.responses)) {
        expect({ route, status, described: (response.description ?? '').length > 0 }).toEqual({ route, status, described: true })
        if (Number(status) >= 400) expect({ route, status, schema: response.content?.['application/json']?.schema }).toEqual({ route, status, schema: { $ref: '#/components/schemas/Error' } })
      }
    }
  })

  test('offers JSON as the only request body type, as the service refuses any other (415)', () => {
    for (const { route, operation } of operationsOf(documents.get(prefix)!)) {
      if (operation.requestBody !== undefined) expect({ route, types: Object.keys(operation.requestBody.content) }).toEqual({ route, types: ['application/json'] })
    }
  })
})
