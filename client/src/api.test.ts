import { afterAll, describe, expect, test } from 'bun:test'
import { createApiClient } from './api'
import { ApiError } from './errors'
import { createMemoryTokenStore, type StoredTokens } from './tokens'

/** What the stand-in auth service answers every refresh with. */
let refreshAnswer = { status: 503, body: { error: 'UNAVAILABLE', message: 'The auth service is restarting' } }
const auth = Bun.serve({ port: 0, fetch: () => Response.json(refreshAnswer.body, { status: refreshAnswer.status }) })
afterAll(() => auth.stop(true))

const MINUTE_MS = 60_000

/** Tokens whose renewal time has come, a minute before they expire. */
function dueForRenewal(): StoredTokens {
  const now = Date.now()
  return { accessToken: 'access', refreshToken: 'refresh', sessionId: 'session', renewAt: now - 1, expiresAt: now + MINUTE_MS }
}

describe('access token renewal', () => {
  test('an auth outage in the renewal window (503) still answers the token that has not expired', async () => {
    refreshAnswer = { status: 503, body: { error: 'UNAVAILABLE', message: 'The auth service is restarting' } }
    const api = createApiClient({ baseUrl: auth.url.origin, tokens: createMemoryTokenStore(dueForRenewal()) })
    expect((await api.getAccessToken()).token).toBe('access')
  })

  test('a refused refresh (401) ends the session even though the token has not expired', async () => {
    refreshAnswer = { status: 401, body: { error: 'TOKEN_REVOKED', message: 'The session was revoked' } }
    const ended: string[] = []
    const tokens = createMemoryTokenStore(dueForRenewal())
    const api = createApiClient({ baseUrl: auth.url.origin, tokens, onSessionEnded: (code) => ended.push(code) })
    const error = await api.getAccessToken().catch((thrown: unknown) => thrown)
    expect(error).toBeInstanceOf(ApiError)
    expect([(error as ApiError).code, ended, tokens.load()]).toEqual(['TOKEN_REVOKED', ['TOKEN_REVOKED'], null])
  })
})
