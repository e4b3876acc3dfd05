import { describe, expect, test } from 'bun:test'
import { Elysia, ParseError, t } from 'elysia'
import postgres from 'postgres'
import { ClientClosedError, ClientOfflineError, ConnectionTimeoutError, ErrorReply, SocketClosedUnexpectedlyError, SocketTimeoutError } from 'redis'
import { AppError, failedDependency, toErrorResponse, VALIDATION_DETAIL_MAX_CHARS, VALIDATION_MAX_DETAILS } from './errors'

describe('toErrorResponse for AppError', () => {
  test('answers with the status of its code and the contract body', () => {
    expect(toErrorResponse('UNKNOWN', new AppError('USERNAME_TAKEN', 'That username is taken'))).toEqual({
      status: 409,
      body: { error: 'USERNAME_TAKEN', message: 'That username is taken' },
      headers: undefined,
    })
  })

  test.each([
    ['MALFORMED_JSON', 400],
    ['UNAUTHENTICATED', 401],
    ['INVALID_TOKEN', 401],
    ['TOKEN_EXPIRED', 401],
    ['TOKEN_REVOKED', 401],
    ['INVALID_CREDENTIALS', 401],
    ['REFRESH_TOKEN_REUSED', 401],
    ['INVALID_PASSWORD', 403],
    ['NOT_FOUND', 404],
    ['USERNAME_TAKEN', 409],
    ['EMAIL_TAKEN', 409],
    ['PAYLOAD_TOO_LARGE', 413],
    ['VALIDATION_FAILED', 422],
    ['WEAK_PASSWORD', 422],
    ['TOO_MANY_ATTEMPTS', 429],
    ['DEPENDENCY_DOWN', 503],
  ] as const)('%s answers %d, as the contract says', (code, status) => {
    expect(toErrorResponse('UNKNOWN', new AppError(code, 'm')).status).toBe(status)
  })

  test('keeps its details', () => {
    const details = [{ field: 'password', message: 'is one of the most common passwords' }]
    const { status, body } = toErrorResponse('UNKNOWN', new AppError('WEAK_PASSWORD', 'The password is weak', { details }))
    expect(status).toBe(422)
    expect(body).toEqual({ error: 'WEAK_PASSWORD', message: 'The password is weak', details })
  })

  test('sends Retry-After rounded up to whole seconds', () => {
    const answer = toErrorResponse('UNKNOWN', new AppError('TOO_MANY_ATTEMPTS', 'Slow down', { retryAfterSeconds: 12.2 }))
    expect(answer.status).toBe(429)
    expect(answer.headers).toEqual({ 'retry-after': '13' })
  })

  test('never sends a Retry-After below 1 second', () => {
    expect(toErrorResponse('UNKNOWN', new AppError('RATE_LIMITED', 'Slow down', { retryAfterSeconds: 0.01 })).headers).toEqual({ 'retry-after': '1' })
  })

  test('wins over the code Elysia reports, since the handler threw it on purpose', () => {
    expect(toErrorResponse('VALIDATION', new AppError('NOT_FOUND', 'No such user')).status).toBe(404)
  })

  test('keeps a wrapped cause out of the body', () => {
    const cause = new Error('connection to 10.0.0.5 refused; password=hunter2')
    const { body } = toErrorResponse('UNKNOWN', new AppError('DEPENDENCY_DOWN', 'Try again shortly', { cause }))
    expect(JSON.stringify(body)).not.toContain('hunter2')
    expect(body).toEqual({ error: 'DEPENDENCY_DOWN', message: 'Try again shortly' })
  })
})

describe('toErrorResponse for framework errors', () => {
  test('VALIDATION becomes 422 with one detail per field, named by its path', () => {
    const error = {
      all: [
        { path: '/username', message: 'Expected string length greater or equal to 3' },
        { path: '/username', message: 'Expected string to match the pattern' },
        { path: '/profile/bio', message: 'Expected string' },
        { path: '', message: 'Expected object' },
      ],
    }
    expect(toErrorResponse('VALIDATION', error)).toEqual({
      status: 422,
      body: {
        error: 'VALIDATION_FAILED',
        message: 'The request does not match the expected schema',
        details: [
          { field: 'username', message: 'Expected string length greater or equal to 3' },
          { field: 'profile.bio', message: 'Expected string' },
          { field: '(body)', message: 'Expected object' },
        ],
      },
    })
  })

  test("VALIDATION never echoes the value sent, even where Elysia's summary quotes it", () => {
    const error = { all: [{ path: '/name', message: 'Expected string', summary: "Expected  property 'name' to be string but found: secret-value" }] }
    expect(JSON.stringify(toErrorResponse('VALIDATION', error).body)).not.toContain('secret-value')
  })

  test('VALIDATION details stay bounded in number and length whatever the request', () => {
    const all = Array.from({ length: 64 }, (_, i) => ({ path: `/${i}${'k'.repeat(10_000)}`, message: 'Unexpected property '.repeat(100) }))
    const details = toErrorResponse('VALIDATION', { all }).body.details!
    expect(details).toHaveLength(VALIDATION_MAX_DETAILS)
    for (const detail of details) {
      expect(detail.field.length).toBeLessThanOrEqual(VALIDATION_DETAIL_MAX_CHARS)
      expect(detail.message.length).toBeLessThanOrEqual(VALIDATION_DETAIL_MAX_CHARS)
    }
  })

  test("an AppError thrown by a body parser keeps its code and message through Elysia's PARSE wrapper", () => {
    const wrapped = new ParseError(new AppError('UNSUPPORTED_MEDIA_TYPE', 'Request bodies must be JSON'))
    expect(toErrorResponse('PARSE', wrapped)).toMatchObject({ status: 415, body: { error: 'UNSUPPORTED_MEDIA_TYPE', message: 'Request bodies must be JSON' } })
  })

  test('a response that breaks its own schema is a 500 INTERNAL, not a 422 that blames the client', () => {
    const error = { type: 'response', all: [{ path: '/id', message: 'Expected string' }] }
    expect(toErrorResponse('VALIDATION', error)).toEqual({ status: 500, body: { error: 'INTERNAL', message: 'Something went wrong on our side' } })
  })

  test('VALIDATION names a failure of the whole query or path by that part of the request, not "(body)"', () => {
    const error = { type: 'query', all: [{ path: '', message: 'Expected object to have at least 1 properties' }] }
    expect(toErrorResponse('VALIDATION', error).body.details).toEqual([{ field: '(query)', message: 'Expected object to have at least 1 properties' }])
    expect(toErrorResponse('VALIDATION', { type: 'params', all: [{ path: '' }] }).body.details).toEqual([{ field: '(params)', message: 'is invalid' }])
  })

  test('VALIDATION without a list of errors still answers 422 with empty details', () => {
    expect(toErrorResponse('VALIDATION', new Error('opaque'))).toMatchObject({ status: 422, body: { error: 'VALIDATION_FAILED', details: [] } })
  })

  test('PARSE becomes 400 MALFORMED_JSON', () => {
    expect(toErrorResponse('PARSE', new Error('Unexpected end of JSON input'))).toEqual({
      status: 400,
      body: { error: 'MALFORMED_JSON', message: 'The request body is not valid JSON' },
    })
  })

  test('NOT_FOUND becomes 404', () => {
    expect(toErrorResponse('NOT_FOUND', new Error('NOT_FOUND'))).toMatchObject({ status: 404, body: { error: 'NOT_FOUND' } })
  })

  test('a real Elysia validation failure names the failing fields', async () => {
    const app = new Elysia()
      .onError(({ code, error, set }) => {
        const { status, body } = toErrorResponse(code, error)
        set.status = status
        return body
      })
      .post('/users', ({ body }) => body, { body: t.Object({ username: t.String({ minLength: 3 }), age: t.Number() }) })
    const response = await app.handle(
      new Request('http://localhost/users', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":"ab","age":"old"}' }),
    )
    expect(response.status).toBe(422)
    const body = await response.json()
    expect(body.error).toBe('VALIDATION_FAILED')
    expect(body.details.map((d: { field: string }) => d.field).sort()).toEqual(['age', 'username'])

    const malformed = await app.handle(new Request('http://localhost/users', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username":' }))
    expect(malformed.status).toBe(400)
    expect(await malformed.json()).toEqual({ error: 'MALFORMED_JSON', message: 'The request body is not valid JSON' })
  })
})

describe('toErrorResponse for real Elysia failures of a whole request part', () => {
  const app = new Elysia({ normalize: false })
    .onError(({ code, error, set }) => {
      const { status, body } = toErrorResponse(code, error)
      set.status = status
      return body
    })
    .get('/search', ({ query }) => query, { query: t.Object({ q: t.Optional(t.String()), tag: t.Optional(t.String()) }, { minProperties: 1 }) })
    .post('/users', ({ body }) => body, { body: t.Object({ username: t.String() }) })

  test('a query failing as a whole is named "(query)"', async () => {
    const response = await app.handle(new Request('http://localhost/search'))
    expect(response.status).toBe(422)
    expect((await response.json()).details.map((d: { field: string }) => d.field)).toEqual(['(query)'])
  })

  test('a body that is not an object is named "(body)"', async () => {
    const response = await app.handle(new Request('http://localhost/users', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' }))
    expect(response.status).toBe(422)
    expect((await response.json()).details.map((d: { field: string }) => d.field)).toEqual(['(body)'])
  })
})

describe('toErrorResponse for unexpected errors', () => {
  test('an unknown error becomes 500 without its message, stack or details', () => {
    const error = new Error('relation "users.users" does not exist at /srv/app/user/src/users/service.ts:42')
    const answer = toErrorResponse('UNKNOWN', error)
    expect(answer).toEqual({ status: 500, body: { error: 'INTERNAL', message: 'Something went wrong on our side' } })
    expect(JSON.stringify(answer)).not.toContain('relation')
    expect(JSON.stringify(answer)).not.toContain('service.ts')
  })

  test('a thrown non-Error value also becomes a plain 500', () => {
    expect(toErrorResponse('UNKNOWN', 'a string')).toMatchObject({ status: 500, body: { error: 'INTERNAL' } })
    expect(toErrorResponse('UNKNOWN', undefined)).toMatchObject({ status: 500, body: { error: 'INTERNAL' } })
    expect(toErrorResponse('UNKNOWN', null)).toMatchObject({ status: 500, body: { error: 'INTERNAL' } })
  })

  test.each(['22021', '22P05'])('Postgres %s (text it cannot store, such as NUL) becomes 422', (code) => {
    const error = Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code })
    const answer = toErrorResponse('UNKNOWN', error)
    expect(answer.status).toBe(422)
    expect(answer.body.error).toBe('VALIDATION_FAILED')
    expect(answer.body.message).not.toContain('0x00')
  })

  test.each(['ECONNREFUSED', 'ECONNRESET', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECT_TIMEOUT', 'CONNECTION_DESTROYED'])(
    'a connection failure with code %s becomes 503 DEPENDENCY_DOWN',
    (code) => {
      const error = Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code })
      expect(toErrorResponse('UNKNOWN', error)).toEqual({
        status: 503,
        body: { error: 'DEPENDENCY_DOWN', message: 'A backing service is unavailable, try again shortly' },
      })
    },
  )

  test.each([
    ['ClientClosedError', new ClientClosedError()],
    ['ClientOfflineError', new ClientOfflineError()],
    ['SocketClosedUnexpectedlyError', new SocketClosedUnexpectedlyError()],
    ['ConnectionTimeoutError', new ConnectionTimeoutError()],
    ['SocketTimeoutError', new SocketTimeoutError(1000)],
  ])('a node-redis %s (recognised by its class, as node-redis sets no name) becomes 503 DEPENDENCY_DOWN', (_, error) => {
    expect(error.name).toBe('Error')
    expect(toErrorResponse('UNKNOWN', error)).toMatchObject({ status: 503, body: { error: 'DEPENDENCY_DOWN' } })
    expect(failedDependency(error)).toBe('redis')
  })

  test('a Redis that is loading or read-only is down; a Redis reply that reports our bug is not', () => {
    expect(toErrorResponse('UNKNOWN', new ErrorReply('LOADING Redis is loading the dataset in memory')).status).toBe(503)
    expect(toErrorResponse('UNKNOWN', new ErrorReply("READONLY You can't write against a read only replica.")).status).toBe(503)
    expect(toErrorResponse('UNKNOWN', new ErrorReply('WRONGTYPE Operation against a key holding the wrong kind of value')).status).toBe(500)
  })

  test.each([
    ['57P01', 'terminating connection due to administrator command'],
    ['57P03', 'the database system is starting up'],
    ['08006', 'connection failure'],
    ['53300', 'sorry, too many clients already'],
  ])('a Postgres server error %s (%s) becomes 503 DEPENDENCY_DOWN', (code, message) => {
    const error = Object.assign(Object.create(postgres.PostgresError.prototype), { message, code })
    expect(toErrorResponse('UNKNOWN', error).status).toBe(503)
    expect(failedDependency(error)).toBe('postgres')
  })

  test('a socket error is put on the store it came from: postgres.js attaches the query, node-redis (a MULTI on a dead connection) does not', () => {
    const fromPostgres = Object.defineProperty(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }), 'query', { value: 'select 1' })
    expect(failedDependency(fromPostgres)).toBe('postgres')
    expect(failedDependency(Object.assign(new Error('write ECONNRESET'), { code: 'ECONNRESET' }))).toBe('redis')
  })

  test('an error that merely calls itself a Redis error by name is not taken for one', () => {
    expect(toErrorResponse('UNKNOWN', Object.assign(new Error('The client is closed'), { name: 'ClientClosedError' })).status).toBe(500)
  })

  test('another Postgres error (e.g. a unique violation that escaped) stays a 500', () => {
    const error = Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' })
    expect(toErrorResponse('UNKNOWN', error)).toMatchObject({ status: 500, body: { error: 'INTERNAL' } })
  })
})
