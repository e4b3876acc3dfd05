import { describe, expect, test } from 'bun:test'
import { loadConfig } from '@chat/common/config'
import type { Sql } from '@chat/common/db'
import { createServiceApp } from '@chat/common/http'
import type { Logger } from '@chat/common/logger'
import type { Redis } from '@chat/common/redis'
import { ChatConfig } from '../config'
import type { ChatDeps } from '../deps'
import { invitesController } from '../invites'
import { receiptsController } from '../receipts'
import { roomsController } from '../rooms'
import { moderationController } from '.'

/**
 * The moderation, invite and receipt routes in-process, through `app.handle`: input the
 * schemas refuse is answered 422 in the contract's shape before any store is touched (the
 * stores here throw). The rules themselves run against the real stack in
 * chat/test/moderation.test.ts.
 */

const config = loadConfig(ChatConfig, {})
const silent = () => {}
const log: Logger = { debug: silent, info: silent, warn: silent, error: silent }
const untouchable = new Proxy(() => {}, {
  get: () => {
    throw new Error('a store was touched')
  },
  apply: () => {
    throw new Error('a store was touched')
  },
})
const deps = {
  config,
  log,
  sql: untouchable as unknown as Sql,
  redis: untouchable as unknown as Redis,
  verifier: { verify: async () => ({ ok: true as const, claims: { userId: crypto.randomUUID(), sessionId: crypto.randomUUID(), tokenId: 't', expiresAt: Date.now() + 60_000 } }) },
} as unknown as ChatDeps

const app = createServiceApp({ service: 'chat', prefix: '/chat', config, log, sql: deps.sql, redis: deps.redis, openapi: { title: 'Chat', description: 'Chat' } })
  .use(roomsController(deps))
  .use(moderationController(deps))
  .use(invitesController(deps))
  .use(receiptsController(deps))

const room = crypto.randomUUID()
const user = crypto.randomUUID()

async function send(method: string, path: string, body?: unknown): Promise<{ status: number; body: { error: string; details?: { field: string }[] } }> {
  const headers: Record<string, string> = { authorization: 'Bearer token' }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const response = await app.handle(new Request(`http://chat.test${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }))
  return { status: response.status, body: await response.json() }
}

describe('moderation input is refused before any store is touched', () => {
  const cases: [name: string, method: string, path: string, body?: unknown][] = [
    ['a role that does not exist', 'PATCH', `/chat/rooms/${room}/members/${user}`, { role: 'king' }],
    ['a member id that is not a uuid', 'PATCH', `/chat/rooms/${room}/members/nobody`, { role: 'admin' }],
    ['an unknown field next to the role', 'PATCH', `/chat/rooms/${room}/members/${user}`, { role: 'admin', extra: 1 }],
    ['a ban without a user', 'POST', `/chat/rooms/${room}/bans`, {}],
    ['a ban reason with a NUL character', 'POST', `/chat/rooms/${room}/bans`, { userId: user, reason: 'a\u0000b' }],
    ['a room update with nothing in it', 'PATCH', `/chat/rooms/${room}`, {}],
    ['a room name of spaces only', 'PATCH', `/chat/rooms/${room}`, { name: '   ' }],
    ['a topic with a bidirectional override', 'PATCH', `/chat/rooms/${room}`, { topic: 'a\u202Eb' }],
    ['an invite with no uses', 'POST', `/chat/rooms/${room}/invites`, { maxUses: 0 }],
    ['an invite with a fractional lifetime', 'POST', `/chat/rooms/${room}/invites`, { expiresInSeconds: 1.5 }],
    ['an invite code with characters no code has', 'POST', '/chat/invites/not%20a%20code/accept'],
    ['a member page of limit 0', 'GET', `/chat/rooms/${room}/members?limit=0`],
    ['receipts of a room id that is not a uuid', 'GET', '/chat/rooms/general/receipts'],
  ]
  for (const [name, method, path, body] of cases) {
    test(`${name}: 422 VALIDATION_FAILED`, async () => {
      const answer = await send(method, path, body)
      expect({ status: answer.status, error: answer.body.error }).toEqual({ status: 422, error: 'VALIDATION_FAILED' })
    })
  }
})
