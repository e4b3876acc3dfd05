import { describe, expect, test } from 'bun:test'
import { toValidOpenApi } from './openapi'

/** The shape `@elysiajs/swagger` emits for a route with a body and error responses. */
function generated() {
  const errorSchema = { type: 'object', properties: { error: { type: 'string' }, message: { type: 'string' } }, required: ['error', 'message'] }
  const body = { type: 'object', properties: { scope: { type: 'string' } } }
  const anyType = (schema: object) => ({ 'application/json': { schema }, 'multipart/form-data': { schema }, 'text/plain': { schema } })
  return {
    openapi: '3.0.3',
    info: { title: 'T', version: '1' },
    paths: {
      '/t/logout': {
        post: {
          requestBody: { required: true, content: anyType(body) },
          responses: { 204: { content: anyType({ type: 'void' }) }, 401: { title: 'Error', content: anyType(errorSchema) } },
        },
      },
      '/t/health': { get: { summary: 'up' } },
      '/t/me': { get: { responses: { 200: { title: 'User', examples: [{}], content: anyType({ type: 'object', properties: {} }) } } } },
    },
    components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
  }
}

describe('toValidOpenApi', () => {
  const document = toValidOpenApi(generated()) as any

  test('declares OpenAPI 3.1, whose schemas are the JSON Schema TypeBox emits', () => {
    expect(document.openapi).toBe('3.1.0')
  })

  test('describes every response and refers every error response to the named Error component', () => {
    expect(document.paths['/t/logout'].post.responses).toEqual({
      204: { description: 'Done; no content' },
      401: { description: expect.stringContaining('Not authenticated'), content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
    })
    expect(document.components.schemas.Error).toMatchObject({ title: 'Error', required: ['error', 'message'] })
    expect(document.components.securitySchemes.bearerAuth).toEqual({ type: 'http', scheme: 'bearer' })
  })

  test('keeps only JSON, moves the title into the schema, and drops keywords a response may not have', () => {
    expect(document.paths['/t/me'].get.responses[200]).toEqual({
      description: 'OK',
      content: { 'application/json': { schema: { title: 'User', type: 'object', properties: {} } } },
    })
  })

  test('offers a JSON request body only, required only when it has required fields', () => {
    expect(document.paths['/t/logout'].post.requestBody).toEqual({ required: false, content: { 'application/json': { schema: expect.any(Object) } } })
  })

  test('gives an operation documented without answers its 200', () => {
    expect(document.paths['/t/health'].get.responses).toEqual({ 200: { description: 'OK' } })
  })

  test("leaves the plugin's own document (which it caches) unchanged", () => {
    const original = generated()
    toValidOpenApi(original)
    expect(original).toEqual(generated())
  })
})
