import fc from 'fast-check'
import type { Parameter, Route, Schema } from '../../scripts/openapi'
import { jsonBodySchema, requiresBearer, resolveSchema } from '../../scripts/openapi'

/**
 * fast-check generators for the fuzzer: requests to any route of the OpenAPI documents and
 * WebSocket frames, half of them valid-looking (built from the schemas, so they reach the
 * handlers) and half hostile (wrong types, huge or odd strings, deep nesting, unknown
 * fields, edge numbers, bodies that are not JSON, odd headers).
 */

/** Ids that exist in the fuzzed stack, so valid-looking requests reach real rows. */
export type KnownIds = { rooms: string[]; users: string[]; sessions: string[] }

/** What a request carries in `Authorization`: the logged-in user's current token or exactly this text. */
export type Authorization = { kind: 'owner' } | { kind: 'none' } | { kind: 'raw'; value: string }

export type FuzzRequest = {
  method: string
  /** Path and query as sent (already encoded). */
  target: string
  contentType: string | null
  authorization: Authorization
  extraHeaders: Record<string, string>
  body: Uint8Array | null
  /** How the body was made, for the report of a failure. */
  bodyKind: string
}

/** Large enough to reach Elysia's slow paths, small enough to stay under the 1 MiB limit. */
const HUGE_STRING_BYTES = 200 * 1024
/** Over Caddy's and the services' 1 MiB body limit: must be 413, never a stall. */
const OVER_LIMIT_BYTES = 1024 * 1024 + 512
/** Nesting depths tried in the general fuzz; the explicit depth test goes much deeper. */
const MAX_FUZZ_DEPTH = 3000

const encoder = new TextEncoder()

/** Edge numbers as JSON text: some are not representable as a double or an int32. */
const EDGE_NUMBERS = ['0', '-0', '-1', '1e308', '-1e308', '1e999', '5e-324', '2147483648', '9007199254740993', '18446744073709551616', '123456789012345678901234567890', '0.5', '1.0']
/** Strings that have broken text handling somewhere: NUL, lone surrogates, bidi overrides, escapes, long runs. */
const ODD_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\uD800',
  '\uDC00x',
  '\u202E',
  '\u001B[31m',
  '\r\n',
  '%00',
  '../../etc/passwd',
  "' or 1=1 --",
  '$1',
  '__proto__',
  '\uFEFF',
  '🙂'.repeat(100),
  'x'.repeat(5000),
]
const WRONG_TYPES = ['null', 'true', 'false', '{}', '[]', '[null]', '{"a":{"b":[1]}}', '"string"', ...EDGE_NUMBERS.slice(0, 4)]
const UNKNOWN_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'extra', '']

export const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'APPLICATION/JSON',
  'application/json, text/html',
  'application/vnd.api+json',
  'text/plain',
  'text/plain;charset=UTF-8',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=fuzz',
  'multipart/form-data',
  'application/xml',
  'application/octet-stream',
  '*/*',
  ';;;',
]

export const nestedArrays = (depth: number, inner = '1') => '['.repeat(depth) + inner + ']'.repeat(depth)
export const nestedObjects = (depth: number, inner = '1') => '{"a":'.repeat(depth) + inner + '}'.repeat(depth)

/** A JSON value that fits `schema`, as far as its keywords say (formats and patterns included). */
export function validValue(schema: Schema, known: KnownIds, resolve: (s: Schema) => Schema = (s) => s): fc.Arbitrary<unknown> {
  const s = resolve(schema)
  if (s.const !== undefined) return fc.constant(s.const)
  if (s.enum !== undefined) return fc.constantFrom(...s.enum)
  const branches = s.anyOf ?? s.oneOf
  if (branches !== undefined) return fc.oneof(...branches.map((branch) => validValue(branch, known, resolve)))
  switch (s.type) {
    case 'string':
      return validString(s, known)
    case 'integer':
      return fc.integer({ min: s.minimum ?? -1000, max: s.maximum ?? 1_000_000 })
    case 'number':
      return fc.double({ min: s.minimum ?? -1e6, max: s.maximum ?? 1e6, noNaN: true })
    case 'boolean':
      return fc.boolean()
    case 'null':
      return fc.constant(null)
    case 'array':
      return fc.array(s.items === undefined ? fc.anything() : validValue(s.items, known, resolve), { minLength: s.minItems ?? 0, maxLength: Math.min(s.maxItems ?? 4, 4) })
    default:
      if (s.properties === undefined) return fc.jsonValue({ maxDepth: 2 })
      return fc.record(
        Object.fromEntries(Object.entries(s.properties).map(([key, value]) => [key, validValue(value, known, resolve)])),
        { requiredKeys: s.required ?? [] },
      )
  }
}

function validString(s: Schema, known: KnownIds): fc.Arbitrary<string> {
  if (s.format === 'uuid') return fc.oneof(fc.constantFrom(...known.rooms, ...known.users, ...known.sessions), fc.uuid())
  if (s.format === 'date-time') return fc.date({ noInvalidDate: true }).map((date) => date.toISOString())
  if (s.format === 'email') return fc.emailAddress()
  const examples = (s.examples ?? []).filter((example): example is string => typeof example === 'string')
  const bounded = { minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 40, 80) }
  const generated = (s.pattern === undefined ? null : matching(s.pattern, bounded.minLength, s.maxLength)) ?? fc.string({ ...bounded, unit: 'grapheme' })
  return examples.length > 0 ? fc.oneof(fc.constantFrom(...examples), generated) : generated
}

/** Strings matching `pattern` within the lengths, or null where fast-check cannot generate from it (lookaheads). */
function matching(pattern: string, minLength: number, maxLength = Infinity): fc.Arbitrary<string> | null {
  try {
    return fc.stringMatching(new RegExp(pattern)).filter((text) => text.length >= minLength && text.length <= maxLength)
  } catch {
    return null
  }
}

/** JSON text of a value no schema here accepts, or that stresses the parser. */
export function hostileJsonValue(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(...WRONG_TYPES),
    fc.constantFrom(...EDGE_NUMBERS),
    fc.constantFrom(...ODD_STRINGS).map((text) => JSON.stringify(text)),
    // JSON.stringify escapes lone surrogates (\ud800); raw ones in UTF-8 are invalid bytes, sent separately.
    fc.string({ unit: 'binary', maxLength: 30 }).map((text) => JSON.stringify(text)),
    fc.constantFrom(HUGE_STRING_BYTES, 4001, 70_000).map((length) => JSON.stringify('x'.repeat(length))),
    fc.integer({ min: 1, max: MAX_FUZZ_DEPTH }).chain((depth) => fc.constantFrom(nestedArrays(depth), nestedObjects(depth))),
    fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
  )
}

/** The body of a request, as bytes, and how it was made. */
export function bodyFor(schema: Schema | undefined, known: KnownIds, resolve: (s: Schema) => Schema): fc.Arbitrary<{ bytes: Uint8Array; kind: string }> {
  const text = (kind: string) => (value: string) => ({ bytes: encoder.encode(value), kind })
  const valid = schema === undefined ? fc.constant<unknown>({}) : validValue(schema, known, resolve)
  const validObject = valid.map((value) => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {}))
  return fc.oneof(
    { weight: 4, arbitrary: valid.map((value) => JSON.stringify(value)).map(text('valid-looking')) },
    // One field (an existing one or not) replaced by a hostile value, the rest left valid.
    {
      weight: 4,
      arbitrary: fc
        .tuple(validObject, fc.oneof(fc.constantFrom(...Object.keys(resolveProperties(schema, resolve)), ...UNKNOWN_KEYS), fc.string({ maxLength: 8 })), hostileJsonValue())
        .map(([object, key, hostile]) => withField(object, key, hostile))
        .map(text('one hostile field')),
    },
    { weight: 1, arbitrary: hostileJsonValue().map(text('hostile top-level value')) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min: 1, max: MAX_FUZZ_DEPTH }), fc.boolean())
        .map(([depth, arrays]) => (arrays ? nestedArrays(depth) : nestedObjects(depth)))
        .map(text('deep nesting')),
    },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.constantFrom('', ' ', '{', '{"a":}', '{"a":1,}', "{'a':1}", 'null', 'undefined', 'NaN', 'login=ada&password=x', '\uFEFF{}', '[1,2', '"\\ud800"', '{"a":"\\u0000"}'),
        valid.map((value) => JSON.stringify(value)).chain((json) => fc.nat(json.length).map((cut) => json.slice(0, cut))),
        fc.string({ maxLength: 200 }),
      ).map(text('not JSON or truncated')),
    },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ bytes, kind: 'random bytes' })),
        // A JSON string holding raw bytes that are not UTF-8 (0xFF) and a raw lone surrogate (ED A0 80).
        fc.constant({ bytes: new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xed, 0xa0, 0x80, 0x22, 0x7d]), kind: 'invalid UTF-8' }),
        fc.constant({ bytes: new Uint8Array(OVER_LIMIT_BYTES).fill(0x20), kind: 'over the body limit' }),
      ),
    },
  )
}

function resolveProperties(schema: Schema | undefined, resolve: (s: Schema) => Schema): Record<string, Schema> {
  return schema === undefined ? {} : (resolve(schema).properties ?? {})
}

/** The object's JSON with `key` set to the given JSON text, written by hand so `__proto__` and duplicate keys stay as sent. */
function withField(object: Record<string, unknown>, key: string, jsonText: string): string {
  const inner = JSON.stringify(object).slice(1, -1)
  return `{${inner}${inner === '' ? '' : ','}${JSON.stringify(key)}:${jsonText}}`
}

/** A value for a path or query parameter: fitting its schema, or odd (encoded so the URL stays a URL). */
function parameterValue(parameter: Parameter, known: KnownIds, resolve: (s: Schema) => Schema): fc.Arbitrary<string> {
  const fitting = parameter.schema === undefined ? fc.string() : validValue(parameter.schema, known, resolve).map((value) => String(value))
  return fc.oneof(
    { weight: 3, arbitrary: fitting.map(encodeURIComponent) },
    { weight: 1, arbitrary: fc.constantFrom(...ODD_STRINGS.filter((text) => !/[\uD800-\uDFFF]/.test(text)), ...EDGE_NUMBERS).map(encodeURIComponent) },
    // Broken or sneaky escapes, sent as they are.
    { weight: 1, arbitrary: fc.constantFrom('%', '%ZZ', '%C0%AF', '%ED%A0%80', '%FF', '..%2F..%2F', '%2e%2e', 'a%00b', '%E2%80%AE') },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map((text) => encodeURIComponent(text.replace(/[\uD800-\uDFFF]/g, '?'))) },
  )
}

function queryFor(parameters: Parameter[], known: KnownIds, resolve: (s: Schema) => Schema): fc.Arbitrary<string> {
  const declared = parameters.filter((parameter) => parameter.in === 'query')
  const pairs = fc.tuple(
    ...declared.map((parameter) => fc.option(parameterValue(parameter, known, resolve).map((value) => `${encodeURIComponent(parameter.name)}=${value}`), { nil: undefined })),
  )
  const extras = fc.array(
    fc.oneof(
      fc.tuple(fc.constantFrom(...declared.map((p) => p.name), 'q', 'limit', 'cursor', 'token', '__proto__', '', 'a[b]'), fc.constantFrom('', '1', '-1', '%', 'x'.repeat(3000)))
        .map(([name, value]) => `${encodeURIComponent(name)}=${value}`),
      fc.constantFrom('&', '=', '==', 'limit', 'limit=1&limit=2'),
    ),
    { maxLength: 3 },
  )
  return fc.tuple(pairs, extras).map(([chosen, extra]) => {
    const parts = [...chosen.filter((part): part is string => part !== undefined), ...extra]
    return parts.length === 0 ? '' : `?${parts.join('&')}`
  })
}

function pathFor(route: Route, known: KnownIds, resolve: (s: Schema) => Schema): fc.Arbitrary<string> {
  const names = [...route.path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1])
  const parameters = route.operation.parameters ?? []
  const values = names.map((name) => {
    const parameter = parameters.find((p) => p.in === 'path' && p.name === name) ?? { name, in: 'path' as const }
    return parameterValue(parameter, known, resolve)
  })
  const filled = fc.tuple(...values).map((chosen) => names.reduce((path, name, i) => path.replace(`{${name}}`, chosen[i]), route.path))
  return fc.oneof({ weight: 8, arbitrary: filled }, { weight: 1, arbitrary: filled.map((path) => `${path}/`) }, { weight: 1, arbitrary: filled.map((path) => `${path}/x/..`) })
}

function authorizationFor(route: Route): fc.Arbitrary<Authorization> {
  const raw = (value: string): Authorization => ({ kind: 'raw', value })
  const hostile = fc.oneof(
    fc.constantFrom('Bearer', 'Bearer ', 'bearer x', 'Basic YWRhOnB3', 'Bearer a.b.c', 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', 'Bearer  x', 'Token abc').map(raw),
    fc.constantFrom(100, 5000, 20_000).map((length) => raw(`Bearer ${'A'.repeat(length)}`)),
    fc.string({ unit: fc.constantFrom(...'abcXYZ019-_.~+/= \t'), maxLength: 60 }).map((text) => raw(`Bearer ${text}`)),
  )
  return requiresBearer(route.operation)
    ? fc.oneof({ weight: 6, arbitrary: fc.constant<Authorization>({ kind: 'owner' }) }, { weight: 1, arbitrary: fc.constant<Authorization>({ kind: 'none' }) }, { weight: 2, arbitrary: hostile })
    : fc.oneof({ weight: 4, arbitrary: fc.constant<Authorization>({ kind: 'none' }) }, { weight: 1, arbitrary: fc.constant<Authorization>({ kind: 'owner' }) }, { weight: 1, arbitrary: hostile })
}

const extraHeaders: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({}) },
  {
    weight: 1,
    arbitrary: fc.constantFrom<Record<string, string>>(
      { 'x-request-id': 'x'.repeat(500) },
      { 'x-request-id': '../../a b' },
      { 'x-forwarded-for': '1.2.3.4, 999.1.1.1, ::1' },
      { 'x-forwarded-for': 'not-an-ip' },
      { accept: 'text/html' },
      { accept: 'application/xml' },
      { 'accept-encoding': 'zstd, br, gzip, deflate, identity;q=0' },
      { 'content-encoding': 'gzip' },
      { origin: 'https://evil.example' },
      { 'x-http-method-override': 'DELETE' },
    ),
  },
)

/** Methods a route does not have must be answered too (404 in the error shape). */
const OTHER_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD']

export function requestFor(route: Route, known: KnownIds): fc.Arbitrary<FuzzRequest> {
  const resolve = (schema: Schema) => resolveSchema(route.document, schema)
  const schema = jsonBodySchema(route)
  const method = fc.oneof({ weight: 9, arbitrary: fc.constant(route.method.toUpperCase()) }, { weight: 1, arbitrary: fc.constantFrom(...OTHER_METHODS) })
  const contentType = fc.oneof({ weight: 6, arbitrary: fc.constant<string | null>('application/json') }, { weight: 1, arbitrary: fc.constant(null) }, { weight: 3, arbitrary: fc.constantFrom(...CONTENT_TYPES) })
  return fc
    .record({
      method,
      path: pathFor(route, known, resolve),
      query: queryFor(route.operation.parameters ?? [], known, resolve),
      contentType,
      authorization: authorizationFor(route),
      extraHeaders,
      // Routes without a body get one now and then too: it must be ignored or refused, not crash them.
      body: fc.oneof(
        { weight: schema === undefined ? 3 : 1, arbitrary: fc.constant(null) },
        { weight: schema === undefined ? 1 : 9, arbitrary: bodyFor(schema, known, resolve) },
      ),
    })
    .map(({ method, path, query, contentType, authorization, extraHeaders, body }) => {
      // fetch cannot send a body with GET or HEAD.
      const sendsBody = body !== null && method !== 'GET' && method !== 'HEAD'
      return {
        method,
        target: path + query,
        contentType: sendsBody ? contentType : null,
        authorization,
        extraHeaders,
        body: sendsBody ? body.bytes : null,
        bodyKind: sendsBody ? body.kind : 'none',
      }
    })
}

/** A WebSocket frame: a valid-looking client frame from the protocol's schema, or a hostile one. */
export function frameFor(clientFrame: Schema, known: KnownIds): fc.Arbitrary<{ data: string | Uint8Array; kind: string }> {
  const valid = validValue(clientFrame, known) as fc.Arbitrary<Record<string, unknown>>
  const text = (kind: string) => (data: string) => ({ data, kind })
  return fc.oneof(
    { weight: 4, arbitrary: valid.map((frame) => JSON.stringify(frame)).map(text('valid-looking')) },
    {
      weight: 4,
      arbitrary: fc
        .tuple(valid, fc.constantFrom('type', 'room', 'body', 'clientId', 'since', 'ref', 'token', ...UNKNOWN_KEYS), hostileJsonValue())
        .map(([frame, key, hostile]) => withField(Object.fromEntries(Object.entries(frame).filter(([k]) => k !== key)), key, hostile))
        .map(text('one hostile field')),
    },
    { weight: 1, arbitrary: hostileJsonValue().map(text('hostile top-level value')) },
    { weight: 1, arbitrary: fc.constantFrom('', 'not json', '{', '{"type":', '{"type":"nope"}', '{"type":null}', '\uD800', '"\\ud800"').map(text('not JSON or unknown type')) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((data) => ({ data, kind: 'binary frame' })) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom(...known.rooms), fc.constantFrom('\u0000', '\uD800', '\u202E', 'x'.repeat(4001), '🙂'.repeat(2001), ''), fc.uuid())
        .map(([room, body, clientId]) => JSON.stringify({ type: 'send', room, body, clientId }))
        .map(text('odd message body')),
    },
  )
}
