import { describe, expect, test } from 'bun:test'
import { renderRouteReference } from './api-docs'
import type { OpenApiDocument, Schema, ServiceDocuments } from './openapi'

const ERROR: Schema = {
  type: 'object',
  required: ['error', 'message'],
  properties: { error: { type: 'string', description: 'Fixed UPPER_SNAKE_CASE code' }, message: { type: 'string' } },
}

function documentWith(errorSchema: Schema, components: OpenApiDocument['components'] = {}): OpenApiDocument {
  return {
    openapi: '3.0.3',
    info: { title: 'T', version: '1' },
    components,
    paths: {
      '/auth/things/': {
        post: {
          summary: 'Make a thing',
          security: [{ bearerAuth: [] }],
          requestBody: {
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  additionalProperties: false,
                  required: ['name'],
                  properties: {
                    name: { type: 'string', minLength: 1, maxLength: 32, pattern: '^a|b$' },
                    count: { anyOf: [{ type: 'string', format: 'integer' }, { type: 'integer', minimum: 1 }] },
                  },
                },
              },
            },
          },
          responses: {
            '201': { description: 'The new thing', content: { 'application/json': { schema: { type: 'object', title: 'Thing', properties: { id: { type: 'string', format: 'uuid' } } } } } },
            '422': { description: 'Bad fields', content: { 'application/json': { schema: errorSchema } } },
          },
        },
      },
    },
  }
}

const empty = (): OpenApiDocument => ({ openapi: '3.0.3', info: { title: 'E', version: '1' }, paths: {} })

function render(auth: OpenApiDocument): string {
  const documents: ServiceDocuments = { auth, user: empty(), chat: empty() }
  return renderRouteReference(documents)
}

describe('the route reference renderer', () => {
  test('renders an error answer given by $ref to the Error component the same as an inline one', () => {
    const inline = render(documentWith({ title: 'Error', ...ERROR }))
    const referenced = render(documentWith({ $ref: '#/components/schemas/Error' }, { schemas: { Error: ERROR } }))
    expect(referenced).toBe(inline)
    expect(inline).toContain('| 422 | Bad fields | [Error](#error-shape) |')
    expect(inline).toContain('| `error` | string | yes | Fixed UPPER_SNAKE_CASE code |')
  })

  test('lists a route with its method, public path, auth, body rules and answers', () => {
    const text = render(documentWith(ERROR))
    expect(text).toContain('| POST | [`/auth/things`](#post-auth-things) | Bearer | Make a thing |')
    expect(text).toContain('| `name` | string | yes | 1–32 characters; matches `^a\\|b$` |')
    expect(text).toContain('Body (`application/json`, optional):')
    expect(text).toContain('| `count` | integer | no | at least 1 |')
    expect(text).toContain('Other fields are refused (422).')
    expect(text).toContain('| 201 | The new thing | Thing {id: string (uuid)} |')
  })

  test('fails loudly on a $ref that points nowhere', () => {
    expect(() => render(documentWith({ $ref: '#/components/schemas/Missing' }))).toThrow('unresolvable $ref')
  })
})
