import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { generateKeyPairSync, createPrivateKey } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose'
import { requestFrom, startTestStack, type TestStack } from './harness'
import { call, login, register, uniqueName, type Account, type Answer, type Tokens } from './client'

/**
 * Every auth and user route of the contract, fed bad input through Caddy. Each case must
 * get the contract's error shape with the right status (never a 500), and no stored row
 * may change: the tables are compared before and after every request.
 */

/** Bun 1.4.5 ignores bunfig's test timeout, so without `--timeout` hooks get 5 s; starting or stopping a stack can take longer on a busy machine. */
const STACK_HOOK_TIMEOUT_MS = 60_000

type Fixture = {
  owner: Account & { tokens: Tokens }
  other: Account & { tokens: Tokens }
  /** Bearer tokens that must be refused. */
  badTokens: { expired: string; foreignKey: string; algNone: string; revoked: string }
}

/**
 * Who calls: the fixture owner's token (default on Bearer routes), a session of the owner
 * opened just for this case (for requests that would end the session if accepted), or
 * exactly these headers.
 */
type Caller = 'owner' | 'fresh-session' | ((f: Fixture) => Record<string, string>)

type JsonValue = string | number | boolean | null | unknown[] | { [key: string]: unknown }

type Case = {
  /** What is wrong with the request, as it reads in the test name. */
  what: string
  /** Path with the query, when it differs from the route's. */
  path?: string | ((f: Fixture) => string)
  body?: JsonValue | ((f: Fixture) => JsonValue)
  /** Sent as it is, instead of `body`. */
  raw?: string
  contentType?: string
  caller?: Caller
  status: number
  error?: string
  /** A `details[].field` the answer must name. */
  field?: string
}

type Route = {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  /** As the contract writes it. */
  path: string
  /** A path that is valid for this route, for the cases that are about something else. */
  validPath?: (f: Fixture) => string
  bearer: boolean
  /** A body that is valid, for checking the other parts of a request in isolation. */
  valid?: (f: Fixture) => Record<string, unknown>
  /** The body is optional (logout): every case runs on a session of its own, which a wrongly accepted request would end. */
  optionalBody?: boolean
  cases: Case[]
}

const KB_100 = 'x'.repeat(100 * 1024)
const OVER_1_MIB = 'x'.repeat(1024 * 1024 + 1024)
const STRONG_PASSWORD = 'correct horse battery staple'
const DEFAULT_CODE: Record<number, string> = { 400: 'MALFORMED_JSON', 413: 'PAYLOAD_TOO_LARGE', 422: 'VALIDATION_FAILED', 404: 'NOT_FOUND' }

const NOT_STRINGS: [string, unknown][] = [
  ['a number', 42],
  ['null', null],
  ['an object', { value: 'x' }],
  ['an array', ['x']],
  ['a boolean', true],
]
/** Refused in every text field that has a pattern. */
const FORBIDDEN_CHARACTERS: [string, string][] = [
  ['a NUL character', 'ab\u0000cd'],
  ['an escape control character', 'ab\u001Bcd'],
  ['a right-to-left override (U+202E)', 'ab\u202Ecd'],
  ['a bidi isolate (U+2067)', 'ab\u2067cd'],
]
/** Refused by every two-factor code field: neither six digits nor a recovery code. */
const MALFORMED_CODES: [string, unknown][] = [
  ['an empty string', ''],
  ['5 digits', '12345'],
  ['7 digits', '1234567'],
  ['6 letters', 'abcdef'],
  ['6 full-width digits', '１２３４５６'],
  ['a recovery code with a character outside base32', 'abcd1-efgh8'],
  ['a recovery code with two dashes', 'abcde--fghij'],
]
const LONE_SURROGATES: [string, string][] = [
  ['a lone high surrogate', 'ab\uD800cd'],
  ['a lone low surrogate', 'ab\uDC00cd'],
]

/** One 422 case per way a string field can be wrong; `extra` adds field-specific ones. */
function badStrings(
  field: string,
  base: (f: Fixture) => Record<string, unknown>,
  options: { nullable?: boolean; patterned?: boolean; loneSurrogates?: boolean; extra?: [string, unknown][] } = {},
): Case[] {
  const values: [string, unknown][] = [
    ...NOT_STRINGS.filter(([, value]) => !(options.nullable && value === null)),
    ['a string of 100 KB', KB_100],
    ...(options.patterned ? FORBIDDEN_CHARACTERS : []),
    ...(options.loneSurrogates ? LONE_SURROGATES : []),
    ...(options.extra ?? []),
  ]
  return values.map(([what, value]) => ({
    what: `${field} as ${what}`,
    body: (f: Fixture) => ({ ...base(f), [field]: value }),
    status: 422,
    field,
  }))
}

function without(field: string, base: (f: Fixture) => Record<string, unknown>): Case {
  return {
    what: `a body without ${field}`,
    body: (f: Fixture) => {
      const { [field]: _, ...rest } = base(f)
      return rest
    },
    status: 422,
    field,
  }
}

const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const newRegistration = () => {
  const username = uniqueName('reg')
  return { username, email: `${username}@example.com`, password: STRONG_PASSWORD }
}
const passwordChange = (f: Fixture) => ({ currentPassword: f.owner.password, newPassword: 'an entirely new passphrase' })

const ROUTES: Route[] = [
  {
    method: 'POST',
    path: '/auth/login',
    bearer: false,
    valid: (f) => ({ login: f.owner.username, password: f.owner.password }),
    cases: [
      without('login', (f) => ({ login: f.owner.username, password: f.owner.password })),
      without('password', (f) => ({ login: f.owner.username, password: f.owner.password })),
      ...badStrings('login', (f) => ({ login: f.owner.username, password: f.owner.password }), {
        patterned: true,
        loneSurrogates: true,
        extra: [['an empty string', '']],
      }),
      ...badStrings('password', (f) => ({ login: f.owner.username, password: f.owner.password }), {
        extra: [['an empty string', ''], ['129 characters', 'p'.repeat(129)]],
      }),
      // These reach the password check; they count as failures, so there are only a few.
      { what: 'an unknown login made of emoji', body: { login: '🙂🙃', password: STRONG_PASSWORD }, status: 401, error: 'INVALID_CREDENTIALS' },
      { what: 'the owner’s login with a zero-width space in it', body: (f) => ({ login: `${f.owner.username}\u200B`, password: f.owner.password }), status: 401, error: 'INVALID_CREDENTIALS' },
    ],
  },
  {
    method: 'POST',
    path: '/auth/refresh',
    bearer: false,
    valid: () => ({ refreshToken: 'not-a-token' }),
    cases: [
      without('refreshToken', () => ({ refreshToken: 'x' })),
      ...badStrings('refreshToken', () => ({}), { extra: [['an empty string', ''], ['513 characters', 'r'.repeat(513)]] }),
      { what: 'a refresh token that was never issued', body: { refreshToken: 'never-issued' }, status: 401, error: 'INVALID_REFRESH_TOKEN' },
      { what: 'a refresh token with a NUL', body: { refreshToken: 'ab\u0000cd' }, status: 401, error: 'INVALID_REFRESH_TOKEN' },
      { what: 'a refresh token with a lone surrogate', body: { refreshToken: 'ab\uD800cd' }, status: 401, error: 'INVALID_REFRESH_TOKEN' },
      { what: 'an access token given as the refresh token', body: (f) => ({ refreshToken: f.owner.tokens.accessToken.slice(0, 512) }), status: 401, error: 'INVALID_REFRESH_TOKEN' },
    ],
  },
  {
    method: 'POST',
    path: '/auth/logout',
    bearer: true,
    optionalBody: true,
    // A bad token on a valid body; the body itself would end the session if accepted.
    valid: () => ({ scope: 'global' }),
    cases: [
      ...[['an unknown scope', 'everything'], ['an upper-case scope', 'GLOBAL'], ['an empty scope', ''], ['a scope with a NUL', 'global\u0000']].map(
        ([what, scope]): Case => ({ what, body: { scope }, status: 422, field: 'scope' }),
      ),
      ...NOT_STRINGS.map(([what, scope]): Case => ({ what: `scope as ${what}`, body: { scope }, status: 422, field: 'scope' })),
      { what: 'a JSON string instead of an object', raw: '"global"', status: 422, field: '(body)' },
      { what: 'truncated JSON of a valid scope', raw: '{"scope":"global"', status: 400 },
    ],
  },
  {
    method: 'GET',
    path: '/auth/sessions',
    bearer: true,
    cases: [],
  },
  {
    method: 'DELETE',
    path: '/auth/sessions/:id',
    validPath: () => `/auth/sessions/${crypto.randomUUID()}`,
    bearer: true,
    cases: [
      ...badIds('/auth/sessions/'),
      { what: 'a session id that does not exist', path: () => `/auth/sessions/${crypto.randomUUID()}`, status: 404 },
      { what: 'the nil UUID', path: '/auth/sessions/00000000-0000-0000-0000-000000000000', status: 404 },
      { what: 'another user’s session id', path: (f) => `/auth/sessions/${f.other.tokens.sessionId}`, status: 404 },
      // Caddy routes by the decoded path (here /users/me, the user service), which has no such route.
      { what: 'an encoded path traversal out of /auth', path: '/auth/sessions/..%2F..%2Fusers%2Fme', status: 404 },
    ],
  },
  {
    method: 'PUT',
    path: '/auth/password',
    bearer: true,
    valid: passwordChange,
    cases: [
      without('currentPassword', passwordChange),
      without('newPassword', passwordChange),
      ...badStrings('currentPassword', passwordChange, { extra: [['an empty string', ''], ['129 characters', 'p'.repeat(129)]] }),
      ...badStrings('newPassword', passwordChange, { extra: [['7 characters', 'seven77'], ['129 characters', 'p'.repeat(129)]] }),
      { what: 'a new password that is a common one', body: (f) => ({ currentPassword: f.owner.password, newPassword: 'password123' }), status: 422, error: 'WEAK_PASSWORD', field: 'newPassword' },
      { what: 'a new password containing the username', body: (f) => ({ currentPassword: f.owner.password, newPassword: `my-${f.owner.username}-pw` }), status: 422, error: 'WEAK_PASSWORD', field: 'newPassword' },
      { what: 'a wrong current password', body: { currentPassword: 'not the password', newPassword: 'an entirely new passphrase' }, status: 403, error: 'INVALID_PASSWORD' },
    ],
  },
  {
    method: 'GET',
    path: '/auth/mfa',
    bearer: true,
    cases: [],
  },
  {
    method: 'POST',
    path: '/auth/mfa/verify',
    bearer: false,
    valid: () => ({ mfaToken: 'never-issued', code: '123456' }),
    cases: [
      without('mfaToken', () => ({ mfaToken: 'x', code: '123456' })),
      without('code', () => ({ mfaToken: 'x', code: '123456' })),
      ...badStrings('mfaToken', () => ({ code: '123456' }), { extra: [['an empty string', ''], ['513 characters', 'm'.repeat(513)]] }),
      ...badStrings('code', () => ({ mfaToken: 'x' }), { patterned: true, loneSurrogates: true, extra: [...MALFORMED_CODES, ['a TOTP code with a space', '123 456']] }),
      { what: 'an mfaToken that was never issued', body: { mfaToken: 'never-issued', code: '123456' }, status: 401, error: 'INVALID_TOKEN' },
      { what: 'an access token given as the mfaToken', body: (f) => ({ mfaToken: f.owner.tokens.accessToken.slice(0, 512), code: '123456' }), status: 401, error: 'INVALID_TOKEN' },
      { what: 'a refresh token given as the mfaToken', body: (f) => ({ mfaToken: f.owner.tokens.refreshToken, code: 'abcde-fghij' }), status: 401, error: 'INVALID_TOKEN' },
    ],
  },
  {
    method: 'POST',
    path: '/auth/mfa/totp',
    bearer: true,
    valid: (f) => ({ currentPassword: f.owner.password }),
    cases: [
      without('currentPassword', () => ({ currentPassword: 'not the password' })),
      ...badStrings('currentPassword', () => ({}), { extra: [['an empty string', ''], ['129 characters', 'p'.repeat(129)]] }),
      { what: 'a wrong password', body: { currentPassword: 'not the password' }, status: 403, error: 'INVALID_PASSWORD' },
    ],
  },
  {
    method: 'POST',
    path: '/auth/mfa/totp/confirm',
    bearer: true,
    valid: () => ({ code: '123456' }),
    cases: [
      without('code', () => ({ code: '123456' })),
      ...badStrings('code', () => ({}), { patterned: true, extra: [...MALFORMED_CODES, ['a recovery code', 'abcde-fghij']] }),
      { what: 'a code with no enrolment pending', body: { code: '123456' }, status: 409, error: 'CONFLICT' },
    ],
  },
  {
    method: 'DELETE',
    path: '/auth/mfa/totp',
    bearer: true,
    valid: () => ({ code: '123456' }),
    cases: [
      without('code', () => ({ code: '123456' })),
      ...badStrings('code', () => ({}), { patterned: true, extra: MALFORMED_CODES }),
      { what: 'a code while two-factor is off', body: { code: 'abcde-fghij' }, status: 409, error: 'CONFLICT' },
    ],
  },
  {
    method: 'POST',
    path: '/auth/password/forgot',
    bearer: false,
    valid: () => ({ email: 'nobody@example.com' }),
    cases: [
      without('email', () => ({ email: 'nobody@example.com' })),
      ...badStrings('email', () => ({}), { patterned: true, loneSurrogates: true, extra: [['an empty string', ''], ['no @', 'not-an-email'], ['255 characters', `${'e'.repeat(243)}@example.com`]] }),
    ],
  },
  {
    method: 'POST',
    path: '/auth/password/reset',
    bearer: false,
    valid: () => ({ token: 'never-issued', newPassword: 'an entirely new passphrase' }),
    cases: [
      without('token', () => ({ token: 'x', newPassword: 'an entirely new passphrase' })),
      without('newPassword', () => ({ token: 'x', newPassword: 'an entirely new passphrase' })),
      ...badStrings('token', () => ({ newPassword: 'an entirely new passphrase' }), { extra: [['an empty string', ''], ['257 characters', 't'.repeat(257)]] }),
      ...badStrings('newPassword', () => ({ token: 'x' }), { extra: [['7 characters', 'seven77'], ['129 characters', 'p'.repeat(129)]] }),
      { what: 'a token that was never issued', body: { token: 'never-issued', newPassword: 'an entirely new passphrase' }, status: 400, error: 'INVALID_TOKEN' },
      { what: 'a token with a NUL', body: { token: 'ab\u0000cd', newPassword: 'an entirely new passphrase' }, status: 400, error: 'INVALID_TOKEN' },
      { what: 'a token with a lone surrogate', body: { token: 'ab\uD800cd', newPassword: 'an entirely new passphrase' }, status: 400, error: 'INVALID_TOKEN' },
    ],
  },
  {
    method: 'POST',
    path: '/auth/email/verify',
    bearer: false,
    valid: () => ({ token: 'never-issued' }),
    cases: [
      without('token', () => ({ token: 'x' })),
      ...badStrings('token', () => ({}), { extra: [['an empty string', ''], ['257 characters', 't'.repeat(257)]] }),
      { what: 'a token that was never issued', body: { token: 'never-issued' }, status: 400, error: 'INVALID_TOKEN' },
      { what: 'an access token given as the token', body: (f) => ({ token: f.owner.tokens.accessToken.slice(0, 256) }), status: 400, error: 'INVALID_TOKEN' },
    ],
  },
  {
    method: 'POST',
    path: '/auth/email/verify/resend',
    bearer: true,
    cases: [],
  },
  {
    method: 'POST',
    path: '/users',
    bearer: false,
    valid: newRegistration,
    cases: [
      without('username', newRegistration),
      without('email', newRegistration),
      without('password', newRegistration),
      ...badStrings('username', newRegistration, {
        loneSurrogates: true,
        extra: [
          ['an empty string', ''],
          ['2 characters', 'ab'],
          ['33 characters', 'u'.repeat(33)],
          ['an emoji', 'ab😀cd'],
          ['a combining accent', 'abe\u0301cd'],
          ['a zero-width space', 'ab\u200Bcd'],
          ['a zero-width joiner', 'ab\u200Dcd'],
          ['a space', 'ab cd'],
          ['an accented letter', 'ädmin'],
          ['a Cyrillic look-alike of “admin”', '\u0430dmin'],
          ['a right-to-left override', 'ab\u202Ecd'],
          ['a NUL character', 'ab\u0000cd'],
          ['a leading dot', '.abc'],
        ],
      }),
      ...badStrings('email', newRegistration, {
        patterned: true,
        loneSurrogates: true,
        extra: [
          ['an empty string', ''],
          ['no @', 'not-an-email'],
          ['an internationalised domain', 'ada@exämple.com'],
          ['255 characters', `${'e'.repeat(243)}@example.com`],
        ],
      }),
      ...badStrings('password', newRegistration, { extra: [['an empty string', ''], ['7 characters', 'seven77'], ['129 characters', 'p'.repeat(129)]] }),
      ...badStrings('displayName', newRegistration, {
        patterned: true,
        loneSurrogates: true,
        extra: [
          ['an empty string', ''],
          ['only spaces', '   '],
          ['65 characters', 'd'.repeat(65)],
          ['a letter with 200 combining accents', 'a' + '\u0301'.repeat(200)],
        ],
      }),
      { what: 'a common password', body: () => ({ ...newRegistration(), password: 'password123' }), status: 422, error: 'WEAK_PASSWORD', field: 'password' },
      { what: 'a password containing the username', body: () => { const r = newRegistration(); return { ...r, password: `x${r.username}x` } }, status: 422, error: 'WEAK_PASSWORD', field: 'password' },
      { what: 'a password of one repeated character', body: () => ({ ...newRegistration(), password: 'aaaaaaaaaaaa' }), status: 422, error: 'WEAK_PASSWORD', field: 'password' },
      { what: 'a taken username in other case', body: (f) => ({ ...newRegistration(), username: f.other.username.toUpperCase() }), status: 409, error: 'USERNAME_TAKEN' },
      { what: 'a taken email in other case', body: (f) => ({ ...newRegistration(), email: f.other.email.toUpperCase() }), status: 409, error: 'EMAIL_TAKEN' },
    ],
  },
  {
    method: 'GET',
    path: '/users/me',
    bearer: true,
    cases: [],
  },
  {
    method: 'PATCH',
    path: '/users/me',
    bearer: true,
    valid: () => ({ displayName: 'Would change' }),
    cases: [
      { what: 'an empty object', body: {}, status: 422 },
      ...badStrings('username', () => ({}), {
        extra: [['2 characters', 'ab'], ['an emoji', 'ab😀cd'], ['a zero-width space', 'ab\u200Bcd'], ['a right-to-left override', 'ab\u202Ecd'], ['a NUL character', 'ab\u0000cd']],
      }),
      ...badStrings('email', () => ({}), { patterned: true, extra: [['no @', 'not-an-email']] }),
      ...badStrings('displayName', () => ({}), {
        patterned: true,
        loneSurrogates: true,
        extra: [
          ['an empty string', ''],
          ['only spaces', '   '],
          ['only a no-break space and a tab', '\u00A0\t'],
          ['65 characters', 'd'.repeat(65)],
          ['a letter with 200 combining accents', 'a' + '\u0301'.repeat(200)],
        ],
      }),
      ...badStrings('bio', () => ({}), { nullable: true, patterned: true, loneSurrogates: true, extra: [['501 characters', 'b'.repeat(501)]] }),
      ...badStrings('avatarUrl', () => ({}), {
        nullable: true,
        extra: [
          ['a javascript: URL', 'javascript:alert(1)'],
          ['an ftp URL', 'ftp://example.com/a.png'],
          ['a relative URL', '/a.png'],
          ['a scheme-relative URL', '//example.com/a.png'],
          ['a URL with a space', 'https://exa mple.com/a.png'],
          ['a URL with a NUL', 'https://example.com/\u0000.png'],
          ['plain text', 'not a url'],
        ],
      }),
      { what: 'another user’s username in other case', body: (f) => ({ username: f.other.username.toUpperCase() }), status: 409, error: 'USERNAME_TAKEN' },
      { what: 'a new email without the current password', body: { email: 'elsewhere@example.com' }, status: 422, field: 'currentPassword' },
      { what: 'a new email with a wrong current password', body: { email: 'elsewhere@example.com', currentPassword: 'not the password' }, status: 403, error: 'INVALID_PASSWORD' },
      { what: 'another user’s email in other case', body: (f) => ({ email: f.other.email.toUpperCase(), currentPassword: f.owner.password }), status: 409, error: 'EMAIL_TAKEN' },
    ],
  },
  {
    method: 'DELETE',
    path: '/users/me',
    bearer: true,
    valid: (f) => ({ password: f.owner.password }),
    cases: [
      { what: 'no body', status: 422 },
      without('password', (f) => ({ password: f.owner.password })),
      ...badStrings('password', () => ({}), { extra: [['an empty string', ''], ['129 characters', 'p'.repeat(129)]] }),
      { what: 'a wrong password', body: { password: 'not the password' }, status: 403, error: 'INVALID_PASSWORD' },
    ],
  },
  {
    method: 'GET',
    path: '/users/:id',
    validPath: (f) => `/users/${f.other.id}`,
    bearer: true,
    cases: [
      ...badIds('/users/'),
      { what: 'a user id that does not exist', path: () => `/users/${crypto.randomUUID()}`, status: 404 },
      { what: 'an upper-case user id that does not exist', path: () => `/users/${crypto.randomUUID().toUpperCase()}`, status: 404 },
      { what: 'the nil UUID', path: '/users/00000000-0000-0000-0000-000000000000', status: 404 },
    ],
  },
  {
    method: 'GET',
    path: '/users?q=&limit=&cursor=',
    validPath: () => '/users?q=a&limit=5',
    bearer: true,
    cases: [
      ...['limit=0', 'limit=-1', 'limit=1.5', 'limit=Infinity', 'limit=1e400', 'limit=1e2', 'limit=010', 'limit=', 'limit=abc', 'limit=NaN', 'limit=%00'].map(
        (query): Case => ({ what: `the query ${query}`, path: `/users?${query}`, status: 422, field: 'limit' }),
      ),
      ...(
        [
          ['a cursor that is not base64 JSON', 'junk'],
          ['a cursor of 600 characters', 'c'.repeat(600)],
          ['a cursor holding an object', cursorOf({ after: 'a' })],
          ['a cursor whose id is not a UUID', cursorOf(['a', 'not-a-uuid'])],
          ['a cursor whose name is a number', cursorOf([1, crypto.randomUUID()])],
          ['a cursor with a NUL in its name', cursorOf(['a\u0000', crypto.randomUUID()])],
          ['a cursor with a lone surrogate in its name', cursorOf(['a\uD800', crypto.randomUUID()])],
          ['a cursor whose name has 257 characters', cursorOf(['n'.repeat(257), crypto.randomUUID()])],
          ['a cursor whose id is an array', cursorOf(['a', [crypto.randomUUID()]])],
          ['a NUL as cursor', '%00'],
        ] as [string, string][]
      ).map(([what, cursor]): Case => ({ what, path: `/users?cursor=${cursor}`, status: 422, field: 'cursor' })),
      ...[
        ['a NUL in q', '%00'],
        ['an escape character in q', '%1B'],
        ['a right-to-left override in q', '%E2%80%AE'],
        ['q of 65 characters', 'q'.repeat(65)],
        ['q of 8 KB', 'q'.repeat(8 * 1024)],
      ].map(([what, q]): Case => ({ what, path: `/users?q=${q}`, status: 422, field: 'q' })),
    ],
  },
]

/** Malformed ids for a `:id` path parameter, all refused by the UUID schema. */
function badIds(prefix: string): Case[] {
  const uuid = '4b8c4f5e-2f35-4c31-9d7b-3c2a1e0f9a77'
  return [
    ['a word', 'not-a-uuid'],
    ['a UUID without dashes', uuid.replaceAll('-', '')],
    ['a UUID in braces', `%7B${uuid}%7D`],
    // The `uuid` format alone takes this; Postgres refuses it, which would be a 500.
    ['a UUID as a URN', `urn:uuid:${uuid}`],
    ['a UUID with a trailing character', `${uuid}x`],
    ['a UUID with a NUL', `${uuid}%00`],
    ['an encoded slash', 'a%2Fb'],
    ['an id of 10 KB', 'i'.repeat(10 * 1024)],
    ['an emoji', '%F0%9F%98%80'],
  ].map(([what, id]) => ({ what: `${what} as id`, path: prefix + id, status: 422, field: 'id' }))
}

/** Cases every route gets: oversized bodies, unparseable JSON, and bad tokens on Bearer routes. */
function commonCases(route: Route): Case[] {
  const cases: Case[] = [{ what: 'a body over 1 MiB', path: route.validPath, raw: JSON.stringify({ value: OVER_1_MIB }), status: 413 }]
  if (route.valid !== undefined) {
    const valid = route.valid
    cases.push(
      { what: 'truncated JSON', raw: '{"value":', status: 400 },
      { what: 'JSON with single quotes', raw: "{'value': 'x'}", status: 400 },
      { what: 'a body that is not JSON at all', raw: 'hello', status: 400 },
      { what: 'a JSON array instead of an object', raw: '[]', status: 422, field: '(body)' },
      { what: 'JSON null instead of an object', raw: 'null', status: 422, field: '(body)' },
      // A client must learn that a field it sends is not one (a typo, an outdated client).
      { what: 'a valid body with an unknown field', body: (f) => ({ ...valid(f), isAdmin: true }), status: 422, field: 'isAdmin' },
    )
  }
  if (route.bearer) {
    // The body is valid so that only the token is wrong (the body is checked first).
    const badToken = (what: string, caller: (f: Fixture) => Record<string, string>, error: string): Case => ({
      what,
      path: route.validPath,
      body: route.valid,
      caller,
      status: 401,
      error,
    })
    const bearer = (token: (f: Fixture) => string) => (f: Fixture) => ({ authorization: `Bearer ${token(f)}` })
    cases.push(
      badToken('no Authorization header', () => ({}), 'UNAUTHENTICATED'),
      badToken('Basic credentials instead of a Bearer token', () => ({ authorization: 'Basic YWRhOnNlY3JldA==' }), 'UNAUTHENTICATED'),
      badToken('a Bearer token that is not a JWT', bearer(() => 'not-a-jwt'), 'INVALID_TOKEN'),
      badToken('an unsigned (alg none) token', bearer((f) => f.badTokens.algNone), 'INVALID_TOKEN'),
      badToken('a token signed with another key', bearer((f) => f.badTokens.foreignKey), 'INVALID_TOKEN'),
      badToken('an expired token', bearer((f) => f.badTokens.expired), 'TOKEN_EXPIRED'),
      badToken('a token of a logged-out session', bearer((f) => f.badTokens.revoked), 'TOKEN_REVOKED'),
    )
  }
  return cases
}

let stack: TestStack
/** Shared by every case, and read-only for them: that each case leaves it as it was is the point. */
let fixture: Fixture

beforeAll(async () => {
  stack = await startTestStack()
  const base = stack.url
  const [owner, other] = await Promise.all([
    register(base, { displayName: 'Owner Original' }),
    register(base, { displayName: 'Other Original' }),
  ])
  const [ownerTokens, otherTokens, doomed] = await Promise.all([login(base, owner), login(base, other), login(base, owner)])
  expect((await call(base, 'PATCH', '/users/me', { token: ownerTokens.accessToken, body: { bio: 'original bio', avatarUrl: 'https://example.com/a.png' } })).status).toBe(200)
  expect((await call(base, 'POST', '/auth/logout', { token: doomed.accessToken })).status).toBe(204)
  fixture = {
    owner: { ...owner, tokens: ownerTokens },
    other: { ...other, tokens: otherTokens },
    badTokens: { ...(await craftBadTokens(ownerTokens.accessToken)), revoked: doomed.accessToken },
  }
}, STACK_HOOK_TIMEOUT_MS)

afterAll(async () => {
  await stack?.stop()
}, STACK_HOOK_TIMEOUT_MS)

/** Tokens that look like the real thing but must be refused: expired (real key), foreign key, unsigned. */
async function craftBadTokens(realToken: string) {
  const claims = decodeJwt(realToken)
  const header = decodeProtectedHeader(realToken)
  const realKey = createPrivateKey(readFileSync(join(stack.dataDir, 'secrets', 'jwt-ed25519.pem'), 'utf8'))
  const sign = (key: Parameters<SignJWT['sign']>[0], iat: number, exp: number) =>
    new SignJWT({ sid: claims.sid })
      .setProtectedHeader({ alg: 'EdDSA', typ: header.typ, kid: header.kid })
      .setIssuer(claims.iss!)
      .setAudience(claims.aud!)
      .setSubject(claims.sub!)
      .setJti(crypto.randomUUID())
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(key)
  const now = Math.floor(Date.now() / 1000)
  const unsignedHeader = Buffer.from(JSON.stringify({ alg: 'none', typ: header.typ })).toString('base64url')
  const unsignedBody = Buffer.from(JSON.stringify({ ...claims, jti: crypto.randomUUID() })).toString('base64url')
  return {
    expired: await sign(realKey, now - 3600, now - 1800),
    foreignKey: await sign(generateKeyPairSync('ed25519').privateKey, now, now + 600),
    algNone: `${unsignedHeader}.${unsignedBody}.`,
  }
}

/** Everything a bad request must leave alone, including the blacklist in Redis. */
async function snapshotState() {
  const [users, credentials, sessions, refreshTokens, emailTokens, totpFactors, recoveryCodes, mfaChallenges] = await Promise.all([
    stack.sql`select * from users.users order by id`,
    stack.sql`select * from auth.credentials order by user_id`,
    stack.sql`select * from auth.sessions order by id`,
    stack.sql`select * from auth.refresh_tokens order by token_hash`,
    stack.sql`select * from auth.email_tokens order by token_hash`,
    stack.sql`select * from auth.totp_factors order by user_id`,
    stack.sql`select * from auth.recovery_codes order by user_id, code_hash`,
    stack.sql`select * from auth.mfa_challenges order by token_hash`,
  ])
  const redis = new Bun.RedisClient(stack.redisUrl)
  try {
    const revoked = ((await redis.send('KEYS', [`${stack.env.REDIS_PREFIX}{auth:revoked}:*`])) as string[]).sort()
    return {
      users: [...users],
      credentials: [...credentials],
      sessions: [...sessions],
      refreshTokens: [...refreshTokens],
      emailTokens: [...emailTokens],
      twoFactor: [...totpFactors, ...recoveryCodes, ...mfaChallenges],
      revoked,
    }
  } finally {
    redis.close()
  }
}

async function send(route: Route, c: Case, f: Fixture, caller: Record<string, string>): Promise<Answer> {
  const path = typeof c.path === 'function' ? c.path(f) : (c.path ?? route.path)
  const body = c.raw ?? (c.body === undefined ? undefined : JSON.stringify(typeof c.body === 'function' ? c.body(f) : c.body))
  const headers = { ...caller, ...(body === undefined ? {} : { 'content-type': c.contentType ?? 'application/json' }) }
  if (route.method === 'GET' && body !== undefined) {
    // fetch refuses a body on GET. Only the length is declared: the answer comes before the
    // body would be read, and writing it regardless races the server's close (ECONNRESET).
    const declared = { ...headers, 'content-length': String(Buffer.byteLength(body)) }
    const answer = await requestFrom('127.0.0.1', stack.url + path, { method: 'GET', headers: declared, body: '' })
    return { status: answer.status, headers: answer.headers, body: parseJson(answer.text) }
  }
  const answer = await call(stack.url, route.method, path, { raw: body, headers })
  return answer
}

function parseJson(text: string) {
  try {
    return text ? JSON.parse(text) : {}
  } catch {
    return { text }
  }
}

/** The contract's one error shape, with nothing else in it (no stack, no internals). */
function expectErrorShape(answer: Answer) {
  expect(answer.headers.get('content-type') ?? '').toStartWith('application/json')
  const { error, message, details, ...rest } = answer.body
  expect(rest).toEqual({})
  expect(error).toMatch(/^[A-Z][A-Z0-9_]*$/)
  expect(typeof message).toBe('string')
  expect(message.length).toBeGreaterThan(0)
  if (details !== undefined) {
    expect(Array.isArray(details)).toBe(true)
    for (const detail of details) expect(detail).toEqual({ field: expect.any(String), message: expect.any(String) })
  }
}

async function callerHeaders(c: Case, route: Route, f: Fixture): Promise<Record<string, string>> {
  if (typeof c.caller === 'function') return c.caller(f)
  if (!route.bearer) return {}
  const fresh = c.caller === 'fresh-session' || (c.caller === undefined && route.optionalBody)
  const token = fresh ? (await login(stack.url, f.owner)).accessToken : f.owner.tokens.accessToken
  return { authorization: `Bearer ${token}` }
}

for (const route of ROUTES) {
  describe(`${route.method} ${route.path}`, () => {
    for (const c of [...commonCases(route), ...route.cases]) {
      const error = c.error ?? DEFAULT_CODE[c.status]
      const name = `refuses ${c.what} with ${c.status}${error ? ` ${error}` : ''}${c.field ? ` naming ${c.field}` : ''} and changes nothing`
      test(name, async () => {
        const caller = await callerHeaders(c, route, fixture)
        const before = await snapshotState()
        const answer = await send(route, c, fixture, caller)
        expect(answer.status).toBeLessThan(500)
        expect(answer.status).toBe(c.status)
        expectErrorShape(answer)
        if (error !== undefined) expect(answer.body.error).toBe(error)
        if (c.field !== undefined) expect((answer.body.details ?? []).map((d: { field: string }) => d.field)).toContain(c.field)
        expect(await snapshotState()).toEqual(before)
      })
    }
  })
}

describe('requests the services never see', () => {
  test('a body over 2 MiB sent in chunks without a length is refused with 413 and changes nothing', async () => {
    const before = await snapshotState()
    const body = JSON.stringify({ login: 'x'.repeat(2 * 1024 * 1024), password: 'x' })
    const answer = await requestFrom('127.0.0.1', stack.url + '/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      body: `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
    })
    const parsed = { status: answer.status, headers: answer.headers, body: parseJson(answer.text) }
    expect(parsed.status).toBe(413)
    expectErrorShape(parsed)
    expect(parsed.body.error).toBe('PAYLOAD_TOO_LARGE')
    expect(await snapshotState()).toEqual(before)
  })

  test('an encoded path traversal to an internal route is refused with 404, even with the internal token', async () => {
    const before = await snapshotState()
    const username = uniqueName('sneak')
    const answer = await call(stack.url, 'POST', '/users/..%2F..%2Finternal%2Fcredentials', {
      headers: { 'x-internal-token': stack.internalToken },
      body: { userId: crypto.randomUUID(), username, email: `${username}@example.com`, password: STRONG_PASSWORD },
    })
    expect(answer.status).toBe(404)
    expectErrorShape(answer)
    expect(await snapshotState()).toEqual(before)
  })

  test('a path with malformed percent-encoding is refused with 400 and changes nothing', async () => {
    // Go's HTTP server (under Caddy) answers this itself, in plain text: no handler can shape it.
    const before = await snapshotState()
    const answer = await requestFrom('127.0.0.1', `${stack.url}/users/%ZZ`, { headers: { authorization: `Bearer ${fixture.owner.tokens.accessToken}` } })
    expect(answer.status).toBe(400)
    expect(await snapshotState()).toEqual(before)
  })

  for (const [what, path, headers] of [
    ['a query of 100 KB', () => `/users?q=${'q'.repeat(100 * 1024)}`, () => ({ authorization: `Bearer ${fixture.owner.tokens.accessToken}` })],
    ['an Authorization header of 20 KB', () => '/users/me', () => ({ authorization: `Bearer ${'t'.repeat(20 * 1024)}` })],
  ] as const) {
    test(`${what} gets an error in the contract's shape, not a 500, and changes nothing`, async () => {
      const before = await snapshotState()
      const answer = await call(stack.url, 'GET', path(), { headers: headers() })
      expect(answer.status).toBeLessThan(500)
      expect([401, 414, 422, 431]).toContain(answer.status)
      expectErrorShape(answer)
      expect(await snapshotState()).toEqual(before)
    })
  }
})

describe('legitimate Unicode and unknown fields', () => {
  test('registration accepts a display name with emoji, accents and right-to-left script, stored as sent', async () => {
    const displayName = 'Zoë Ådne 🎉 👩‍👩‍👧 שלום'
    const account = await register(stack.url, { displayName })
    const tokens = await login(stack.url, account)
    const profile = await call(stack.url, 'GET', `/users/${account.id}`, { token: tokens.accessToken })
    expect(profile.status).toBe(200)
    expect(profile.body.displayName).toBe(displayName)
    const [row] = await stack.sql`select display_name from users.users where id = ${account.id}`
    expect(row.display_name).toBe(displayName)
  })

  test('a display name typed with combining accents is stored in composed (NFC) form', async () => {
    const account = await register(stack.url, { displayName: 'Jose\u0301 Mu\u0308ller' })
    const tokens = await login(stack.url, account)
    const me = await call(stack.url, 'GET', '/users/me', { token: tokens.accessToken })
    expect(me.body.displayName).toBe('José Müller')
    expect(me.body.displayName).toBe('José Müller'.normalize('NFC'))
  })

  test('a bio with line breaks, tabs, accents and emoji is accepted and returned unchanged', async () => {
    const account = await register(stack.url)
    const tokens = await login(stack.url, account)
    const bio = 'First line — ça va?\nSecond line\r\n\tindented 🎈\n\nLast: 日本語'
    const patched = await call(stack.url, 'PATCH', '/users/me', { token: tokens.accessToken, body: { bio, displayName: 'Ünïcödé 🦄' } })
    expect(patched.status).toBe(200)
    expect(patched.body).toMatchObject({ bio, displayName: 'Ünïcödé 🦄' })
    const me = await call(stack.url, 'GET', '/users/me', { token: tokens.accessToken })
    expect(me.body).toMatchObject({ bio, displayName: 'Ünïcödé 🦄' })
  })

  test('search finds a user by an accented display-name prefix and accepts emoji in q', async () => {
    const marker = `Zoë${Date.now().toString(36)}`
    const account = await register(stack.url, { displayName: `${marker} 🎉` })
    const tokens = await login(stack.url, account)
    const found = await call(stack.url, 'GET', `/users?q=${encodeURIComponent(marker)}`, { token: tokens.accessToken })
    expect(found.status).toBe(200)
    expect(found.body.items.map((item: { id: string }) => item.id)).toEqual([account.id])
    const emoji = await call(stack.url, 'GET', `/users?q=${encodeURIComponent('🎉')}`, { token: tokens.accessToken })
    expect(emoji.status).toBe(200)
  })

  test('a password with accents and emoji works for registration and login', async () => {
    const account = await register(stack.url, { password: 'pässwörd mit 🔑 und ß' })
    const tokens = await login(stack.url, account)
    expect(tokens.tokenType).toBe('Bearer')
  })

  test('registration refuses unknown fields, naming each: a client cannot choose its id or creation time', async () => {
    const chosenId = crypto.randomUUID()
    const username = uniqueName('extra')
    const answer = await call(stack.url, 'POST', '/users', {
      body: { username, email: `${username}@example.com`, password: STRONG_PASSWORD, id: chosenId, createdAt: '2000-01-01T00:00:00.000Z', isAdmin: true },
    })
    expect(answer.status).toBe(422)
    expectErrorShape(answer)
    expect(answer.body.error).toBe('VALIDATION_FAILED')
    expect(answer.body.details.map((d: { field: string }) => d.field).sort()).toEqual(['createdAt', 'id', 'isAdmin'])
    expect(await stack.sql`select id from users.users where id = ${chosenId} or username = ${username}`).toHaveLength(0)
  })

  test('a profile update with an unknown field is refused as a whole: nothing changes, for the caller or anyone else', async () => {
    const [account, bystander] = await Promise.all([register(stack.url), register(stack.url)])
    const tokens = await login(stack.url, account)
    const before = await stack.sql`select * from users.users where id in ${stack.sql([account.id, bystander.id])} order by id`
    const answer = await call(stack.url, 'PATCH', '/users/me', {
      token: tokens.accessToken,
      body: { displayName: 'Renamed', userId: bystander.id },
    })
    expect(answer.status).toBe(422)
    expectErrorShape(answer)
    expect(answer.body.details).toEqual([{ field: 'userId', message: expect.any(String) }])
    expect(await stack.sql`select * from users.users where id in ${stack.sql([account.id, bystander.id])} order by id`).toEqual(before)
  })

  test('search accepts query parameters it does not know, such as a cache buster', async () => {
    const marker = uniqueName('buster')
    const account = await register(stack.url, { displayName: marker })
    const tokens = await login(stack.url, account)
    const found = await call(stack.url, 'GET', `/users?q=${marker}&limit=5&_=${Date.now()}`, { token: tokens.accessToken })
    expect(found.status).toBe(200)
    expect(found.body.items.map((item: { id: string }) => item.id)).toEqual([account.id])
  })

  test('logout without a body, or with an empty one, ends only the current session', async () => {
    const account = await register(stack.url)
    for (const raw of [undefined, '']) {
      const [current, other] = await Promise.all([login(stack.url, account), login(stack.url, account)])
      const headers: Record<string, string> = raw === undefined ? {} : { 'content-type': 'application/json' }
      const answer = await call(stack.url, 'POST', '/auth/logout', { token: current.accessToken, raw, headers })
      expect(answer.status).toBe(204)
      const sessions = await stack.sql`select id, revoked_at from auth.sessions where id in ${stack.sql([current.sessionId, other.sessionId])}`
      const revoked = Object.fromEntries(sessions.map((row) => [row.id, row.revoked_at !== null]))
      expect(revoked).toEqual({ [current.sessionId]: true, [other.sessionId]: false })
    }
  })
})
