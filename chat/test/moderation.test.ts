import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTestStack, type TestStack } from '../../test/harness'
import { createRoom, person, range, type Person } from '../../test/chat-helpers'
import { call, expectError, uniqueName } from '../../test/client'
import { connect, joinRoom, type Frame, type SocketClient } from '../../test/ws-client'

/** Small, so the rate-limit test reaches it quickly; the other tests stay well below. */
const ACCEPTS_PER_USER = 8

let stack: TestStack
beforeAll(async () => {
  stack = await startTestStack({ chat: 2, env: { INVITE_ACCEPT_MAX_PER_USER: String(ACCEPTS_PER_USER) } })
})
afterAll(() => stack?.stop())

const api = (who: Person, method: string, path: string, body?: unknown) => call(stack.url, method, path, { token: who.accessToken, body })
const people = (n: number) => Promise.all(Array.from({ length: n }, () => person(stack.url)))
const privateRoom = async (owner: Person) => {
  const answer = await api(owner, 'POST', '/chat/rooms', { name: uniqueName('private'), private: true })
  expect(answer.status).toBe(201)
  return answer.body.id as string
}
/** One socket of `who` on each chat instance, connected directly (not through Caddy). */
const socketsOnBothInstances = (who: Person) => Promise.all(stack.instancesOf('chat').map((instance) => connect(instance.url, who.accessToken)))
const closeAll = (sockets: SocketClient[]) => sockets.forEach((socket) => socket.close())

const isLeftNotice = (room: string) => (f: Frame) => f.type === 'left' && f.room === room && f.reason !== undefined
const isRoomAdded = (room: string) => (f: Frame) => f.type === 'room_added' && f.room === room

/** The room's stream as `GET …/events` answers it, from the start. */
async function streamOf(who: Person, room: string): Promise<Frame[]> {
  const answer = await api(who, 'GET', `/chat/rooms/${room}/events?after=0&limit=500`)
  expect(answer.status).toBe(200)
  return answer.body.items
}

/** Asserts that every socket gets `left{room, reason}` within a second of `action` answering. */
async function expectToldLeft(sockets: SocketClient[], room: string, reason: string, action: () => Promise<{ status: number }>, status = 204) {
  const started = performance.now()
  expect((await action()).status).toBe(status)
  for (const socket of sockets) expect(await socket.next(isLeftNotice(room), 1000)).toEqual({ type: 'left', room, reason })
  expect(performance.now() - started).toBeLessThan(1000)
}

describe('roles', () => {
  test('the owner promotes and demotes; the member list shows the roles and each change is a member event', async () => {
    const [owner, bob, carol] = await people(3)
    const room = await createRoom(stack.url, owner, [bob, carol])
    const promoted = await api(owner, 'PATCH', `/chat/rooms/${room}/members/${bob.userId}`, { role: 'admin' })
    expect(promoted.status).toBe(200)
    expect(promoted.body).toEqual({ userId: bob.userId, role: 'admin', joinedAt: expect.any(String) })
    // Unchanged: no second event.
    expect((await api(owner, 'PATCH', `/chat/rooms/${room}/members/${bob.userId}`, { role: 'admin' })).status).toBe(200)
    expectError(await api(bob, 'PATCH', `/chat/rooms/${room}/members/${carol.userId}`, { role: 'admin' }), 403, 'NOT_ALLOWED')
    expectError(await api(owner, 'PATCH', `/chat/rooms/${room}/members/${crypto.randomUUID()}`, { role: 'admin' }), 404, 'NOT_FOUND')
    expectError(await api(owner, 'PATCH', `/chat/rooms/${room}/members/${bob.userId}`, { role: 'king' }), 422)

    const members = await api(carol, 'GET', `/chat/rooms/${room}/members`)
    expect(members.status).toBe(200)
    expect(members.body.items.map((m: Frame) => [m.userId, m.role])).toEqual([
      [owner.userId, 'owner'],
      [bob.userId, 'admin'],
      [carol.userId, 'member'],
    ])
    expect((await api(owner, 'PATCH', `/chat/rooms/${room}/members/${bob.userId}`, { role: 'member' })).body.role).toBe('member')

    const changes = (await streamOf(carol, room)).filter((item) => item.kind === 'member').map((item) => [item.actorId, item.data])
    expect(changes).toEqual([
      [bob.userId, { userId: bob.userId, change: 'joined' }],
      [carol.userId, { userId: carol.userId, change: 'joined' }],
      [owner.userId, { userId: bob.userId, change: 'role', role: 'admin' }],
      [owner.userId, { userId: bob.userId, change: 'role', role: 'member' }],
    ])
  })

  test('the owner hands the room over with role "owner" and becomes an admin; before that they can neither demote themselves nor leave', async () => {
    const [owner, bob] = await people(2)
    const room = await createRoom(stack.url, owner, [bob])
    expectError(await api(owner, 'PATCH', `/chat/rooms/${room}/members/${owner.userId}`, { role: 'admin' }), 409, 'LAST_OWNER')
    // Already the owner: nothing to do.
    expect((await api(owner, 'PATCH', `/chat/rooms/${room}/members/${owner.userId}`, { role: 'owner' })).body.role).toBe('owner')
    expectError(await api(owner, 'POST', `/chat/rooms/${room}/leave`), 409, 'LAST_OWNER')

    expect((await api(owner, 'PATCH', `/chat/rooms/${room}/members/${bob.userId}`, { role: 'owner' })).body.role).toBe('owner')
    expect((await api(owner, 'GET', `/chat/rooms/${room}`)).body.ownerId).toBe(bob.userId)
    const roles = (await api(bob, 'GET', `/chat/rooms/${room}/members`)).body.items.map((m: Frame) => [m.userId, m.role])
    expect(roles).toEqual([
      [owner.userId, 'admin'],
      [bob.userId, 'owner'],
    ])
    // The former owner is an admin now: they may leave, and they no longer change roles.
    expectError(await api(owner, 'PATCH', `/chat/rooms/${room}/members/${bob.userId}`, { role: 'member' }), 403, 'NOT_ALLOWED')
    expect((await api(owner, 'POST', `/chat/rooms/${room}/leave`)).status).toBe(204)
    // Alone, the owner may leave too; the room is then ownerless.
    expect((await api(bob, 'POST', `/chat/rooms/${room}/leave`)).status).toBe(204)
    expect((await api(owner, 'GET', `/chat/rooms/${room}`)).body).toMatchObject({ ownerId: null, members: 0 })
  })

  test('an admin removes plain members but not the owner nor another admin; plain members remove nobody', async () => {
    const [owner, admin, otherAdmin, member, outsider] = await people(5)
    const room = await createRoom(stack.url, owner, [admin, otherAdmin, member])
    for (const who of [admin, otherAdmin]) expect((await api(owner, 'PATCH', `/chat/rooms/${room}/members/${who.userId}`, { role: 'admin' })).status).toBe(200)
    const remove = (by: Person, target: Person) => api(by, 'DELETE', `/chat/rooms/${room}/members/${target.userId}`)

    expectError(await remove(admin, owner), 403, 'NOT_ALLOWED')
    expectError(await remove(owner, owner), 403, 'NOT_ALLOWED')
    expectError(await remove(admin, otherAdmin), 403, 'NOT_ALLOWED')
    expectError(await remove(member, admin), 403, 'NOT_ALLOWED')
    expectError(await remove(admin, outsider), 404, 'NOT_FOUND')
    expectError(await remove(outsider, member), 403, 'FORBIDDEN')
    const secret = await privateRoom(owner)
    expectError(await api(outsider, 'DELETE', `/chat/rooms/${secret}/members/${owner.userId}`), 404, 'NOT_FOUND')
    expectError(await api(outsider, 'POST', `/chat/rooms/${secret}/bans`, { userId: owner.userId }), 404, 'NOT_FOUND')
    expectError(await api(outsider, 'DELETE', `/chat/rooms/${secret}`), 404, 'NOT_FOUND')
    expect((await remove(admin, member)).status).toBe(204)
    expect((await remove(owner, otherAdmin)).status).toBe(204)
    expect((await api(owner, 'GET', `/chat/rooms/${room}`)).body.members).toBe(2)
    // Removed is not banned: a public room can be joined again.
    expect((await api(member, 'POST', `/chat/rooms/${room}/join`)).status).toBe(204)
  })

  test('nobody moderates a direct-message room', async () => {
    const [alice, bob] = await people(2)
    const dm = (await api(alice, 'POST', '/chat/dms', { userId: bob.userId })).body.id
    const path = `/chat/rooms/${dm}`
    expectError(await api(alice, 'PATCH', `${path}/members/${bob.userId}`, { role: 'admin' }), 403, 'NOT_ALLOWED')
    expectError(await api(alice, 'DELETE', `${path}/members/${bob.userId}`), 403, 'NOT_ALLOWED')
    expectError(await api(alice, 'POST', `${path}/bans`, { userId: bob.userId }), 403, 'NOT_ALLOWED')
    expectError(await api(alice, 'POST', `${path}/invites`, {}), 403, 'NOT_ALLOWED')
    expectError(await api(alice, 'PATCH', path, { topic: 'ours' }), 403, 'NOT_ALLOWED')
    expectError(await api(alice, 'DELETE', path), 403, 'NOT_ALLOWED')
    const members = (await api(bob, 'GET', `${path}/members`)).body.items
    expect(members.map((m: Frame) => m.role)).toEqual(['member', 'member'])
  })

  test('the member list pages by join order with a cursor, and refuses a cursor it did not hand out', async () => {
    const everyone = await people(5)
    const room = await createRoom(stack.url, everyone[0], everyone.slice(1))
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const page: Frame = await api(everyone[0], 'GET', `/chat/rooms/${room}/members?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`)
      expect(page.status).toBe(200)
      expect(page.body.items.length).toBeLessThanOrEqual(2)
      seen.push(...page.body.items.map((m: Frame) => m.userId))
      cursor = page.body.nextCursor
    } while (cursor !== null)
    expect(seen).toEqual(everyone.map((p) => p.userId))
    expectError(await api(everyone[0], 'GET', `/chat/rooms/${room}/members?cursor=nonsense`), 422, 'VALIDATION_FAILED')
    // Times Postgres cannot read, of every kind (format, zone offset, zone name): refused, never a 500.
    for (const time of ['not a time', '2026-01-01 00:00+16:00', '2026-01-01 00:00 Mars/Olympus']) {
      const forged = Buffer.from(JSON.stringify([time, crypto.randomUUID()])).toString('base64url')
      expectError(await api(everyone[0], 'GET', `/chat/rooms/${room}/members?cursor=${forged}`), 422, 'VALIDATION_FAILED')
    }
    // A room id Postgres would refuse (the uuid format alone lets `urn:uuid:` through).
    expectError(await api(everyone[0], 'GET', `/chat/rooms/urn:uuid:${room}/members`), 422, 'VALIDATION_FAILED')
    const outsider = await person(stack.url)
    expectError(await api(outsider, 'GET', `/chat/rooms/${room}/members`), 403, 'FORBIDDEN')
    expectError(await api(outsider, 'GET', `/chat/rooms/${await privateRoom(everyone[0])}/members`), 404, 'NOT_FOUND')
  })

  test('member and ban pages have indexes in their paging order (migration 006)', async () => {
    const indexes = await stack.sql<{ indexdef: string }[]>`
      select indexdef from pg_indexes where schemaname = 'chat' and indexname in ('members_by_join_time', 'bans_by_time') order by indexname`
    expect(indexes.map((i) => i.indexdef.replace(/^.* USING btree /, ''))).toEqual(['(room_id, created_at, user_id)', '(room_id, joined_at, user_id)'])
  })
})

describe('removal and bans reach open sockets on every instance', () => {
  test('a removed member with sockets on both instances gets left{removed} within 1 s, then can neither send nor join until they rejoin', async () => {
    const [owner, bob] = await people(2)
    const room = await createRoom(stack.url, owner, [bob])
    const sockets = await socketsOnBothInstances(bob)
    for (const socket of sockets) await joinRoom(socket, room)
    await expectToldLeft(sockets, room, 'removed', () => api(owner, 'DELETE', `/chat/rooms/${room}/members/${bob.userId}`))
    for (const [i, socket] of sockets.entries()) {
      socket.send({ type: 'send', room, body: 'still here?', clientId: `after-${i}`, ref: `send-${i}` })
      expect(await socket.next((f) => f.ref === `send-${i}`)).toMatchObject({ type: 'error', code: 'NOT_A_MEMBER' })
      socket.send({ type: 'join', room, ref: `join-${i}` })
      expect(await socket.next((f) => f.ref === `join-${i}`)).toMatchObject({ type: 'error', code: 'NOT_A_MEMBER' })
    }
    expect((await api(bob, 'POST', `/chat/rooms/${room}/join`)).status).toBe(204)
    sockets[0].send({ type: 'join', room, ref: 'rejoin' })
    expect(await sockets[0].next((f) => f.ref === 'rejoin')).toMatchObject({ type: 'joined', room })
    closeAll(sockets)
  })

  test('a banned member gets left{banned} within 1 s on both instances and cannot send, join, be added or accept an invite until unbanned', async () => {
    const [owner, admin, bob] = await people(3)
    const room = await createRoom(stack.url, owner, [admin, bob])
    expect((await api(owner, 'PATCH', `/chat/rooms/${room}/members/${admin.userId}`, { role: 'admin' })).status).toBe(200)
    const invite = (await api(owner, 'POST', `/chat/rooms/${room}/invites`, {})).body.code
    const sockets = await socketsOnBothInstances(bob)
    await joinRoom(sockets[1], room)

    await expectToldLeft(sockets, room, 'banned', () => api(admin, 'POST', `/chat/rooms/${room}/bans`, { userId: bob.userId, reason: 'spam' }))
    // Again: nothing changes, and no second event.
    expect((await api(admin, 'POST', `/chat/rooms/${room}/bans`, { userId: bob.userId })).status).toBe(204)
    const [{ reason, banned_by }] = await stack.sql`select reason, banned_by from chat.bans where room_id = ${room} and user_id = ${bob.userId}`
    expect({ reason, banned_by }).toEqual({ reason: 'spam', banned_by: admin.userId })

    sockets[1].send({ type: 'send', room, body: 'let me back', clientId: 'banned', ref: 'send' })
    expect(await sockets[1].next((f) => f.ref === 'send')).toMatchObject({ type: 'error', code: 'NOT_A_MEMBER' })
    sockets[0].send({ type: 'join', room, ref: 'join' })
    expect(await sockets[0].next((f) => f.ref === 'join')).toMatchObject({ type: 'error', code: 'NOT_A_MEMBER' })
    expectError(await api(bob, 'POST', `/chat/rooms/${room}/join`), 403, 'BANNED')
    expectError(await api(owner, 'POST', `/chat/rooms/${room}/members`, { userId: bob.userId }), 403, 'BANNED')
    expectError(await api(bob, 'POST', `/chat/invites/${invite}/accept`), 403, 'BANNED')
    // An admin bans neither the owner nor another admin; a plain member bans nobody.
    expectError(await api(admin, 'POST', `/chat/rooms/${room}/bans`, { userId: owner.userId }), 403, 'NOT_ALLOWED')
    expectError(await api(owner, 'POST', `/chat/rooms/${room}/bans`, { userId: owner.userId }), 403, 'NOT_ALLOWED')

    expect((await api(admin, 'DELETE', `/chat/rooms/${room}/bans/${bob.userId}`)).status).toBe(204)
    expect((await api(admin, 'DELETE', `/chat/rooms/${room}/bans/${bob.userId}`)).status).toBe(204)
    expect((await api(bob, 'POST', `/chat/rooms/${room}/join`)).status).toBe(204)
    const changes = (await streamOf(owner, room)).filter((item) => item.kind === 'member').map((item) => item.data.change)
    expect(changes).toEqual(['joined', 'joined', 'role', 'banned', 'unbanned', 'joined'])
    closeAll(sockets)
  })

  test('a member removed while others send gets nothing stored after the removal’s event, on either instance', async () => {
    const [owner, carol, bob] = await people(3)
    const room = await createRoom(stack.url, owner, [carol, bob])
    const watchers = await socketsOnBothInstances(bob)
    const talkers = await socketsOnBothInstances(carol)
    for (const socket of [...watchers, ...talkers]) await joinRoom(socket, room)
    let sent = 0
    let removing: Promise<{ status: number }> | null = null
    // Carol keeps sending from both instances while Bob is removed: the messages stored
    // right after the removal are the ones a socket could still be handed.
    while (sent < 300) {
      talkers[sent % 2].send({ type: 'send', room, body: `m${sent}`, clientId: `m-${sent}` })
      sent++
      if (sent === 60) removing = api(owner, 'DELETE', `/chat/rooms/${room}/members/${bob.userId}`)
      if (sent % 3 === 0) await Bun.sleep(1)
    }
    expect((await removing!).status).toBe(204)
    await talkers[0].collect((f) => f.type === 'message', sent, 20_000)
    const [removal] = await stack.sql`select seq::int from chat.events where room_id = ${room} and kind = 'member' and data->>'change' = 'removed'`
    const [{ later }] = await stack.sql`select count(*)::int as later from chat.messages where room_id = ${room} and seq > ${removal.seq}`
    expect(later).toBeGreaterThan(0)
    for (const socket of watchers) {
      expect(socket.frames.filter((f) => f.type === 'message' && f.seq > removal.seq)).toEqual([])
    }
    closeAll([...watchers, ...talkers])
  })

  test('a member banned while their join{since} replays a long history gets nothing stored after the ban’s event', async () => {
    const [owner, carol, bob] = await people(3)
    const room = await createRoom(stack.url, owner, [carol, bob])
    // A history of several replay pages, stored the way the store does it (seqs and last_seq in one transaction).
    await stack.sql.begin(async (tx) => {
      const [{ last_seq }] = await tx`select last_seq::int from chat.rooms where id = ${room} for update`
      await tx`
        insert into chat.messages (room_id, seq, id, sender_id, body, client_id)
        select ${room}, ${last_seq} + g, gen_random_uuid(), ${carol.userId}, 'old ' || g, 'old-' || g from generate_series(1, 3000) g`
      await tx`update chat.rooms set last_seq = last_seq + 3000 where id = ${room}`
    })
    const talker = await connect(stack.instancesOf('chat')[1].url, carol.accessToken)
    await joinRoom(talker, room)
    const watcher = await connect(stack.instancesOf('chat')[0].url, bob.accessToken)
    watcher.send({ type: 'join', room, since: 0, ref: 'replay' })
    await watcher.next((f) => f.ref === 'replay' && f.type === 'joined')
    const banned = api(owner, 'POST', `/chat/rooms/${room}/bans`, { userId: bob.userId })
    for (let i = 0; i < 40; i++) {
      talker.send({ type: 'send', room, body: `new ${i}`, clientId: `new-${i}` })
      await Bun.sleep(2)
    }
    expect((await banned).status).toBe(204)
    await talker.collect((f) => f.type === 'message' && String(f.clientId).startsWith('new-'), 40, 20_000)
    await watcher.next(isLeftNotice(room), 5000)
    const [ban] = await stack.sql`select seq::int from chat.events where room_id = ${room} and kind = 'member' and data->>'change' = 'banned'`
    expect(watcher.frames.filter((f) => f.type === 'message' && f.seq > ban.seq)).toEqual([])
    closeAll([talker, watcher])
  })

  test('a ban landing while the member sends continuously: nothing of theirs is stored after the ban’s event, and the stream has no gap', async () => {
    const [owner, bob] = await people(2)
    const room = await createRoom(stack.url, owner, [bob])
    const b = await connect(stack.instancesOf('chat')[0].url, bob.accessToken)
    const answered = (f: Frame) => typeof f.ref === 'string' && f.ref.startsWith('race-')
    let sent = 0
    let banning: Promise<{ status: number }> | null = null
    // Below the send bucket's burst, so no send is refused for its rate.
    while (sent < 400) {
      b.send({ type: 'send', room, body: `n${sent}`, clientId: `race-${sent}`, ref: `race-${sent}` })
      sent++
      if (banning === null && sent >= 30 && b.frames.some((f) => answered(f) && f.type === 'ack')) {
        banning = api(owner, 'POST', `/chat/rooms/${room}/bans`, { userId: bob.userId })
      }
      if (b.frames.some((f) => answered(f) && f.code === 'NOT_A_MEMBER') && sent % 20 === 0) break
      if (sent % 5 === 0) await Bun.sleep(1)
    }
    expect((await banning!).status).toBe(204)
    const answers = await b.collect(answered, sent, 20_000)
    const firstRefused = answers.findIndex((f) => f.code === 'NOT_A_MEMBER')
    expect(firstRefused).toBeGreaterThan(0)
    expect(answers.slice(firstRefused).every((f) => f.type === 'error' && f.code === 'NOT_A_MEMBER')).toBe(true)
    const [ban] = await stack.sql`select seq::int from chat.events where room_id = ${room} and kind = 'member' and data->>'change' = 'banned'`
    const [{ latest }] = await stack.sql`select max(seq)::int as latest from chat.messages where room_id = ${room} and sender_id = ${bob.userId}`
    expect(latest).toBeLessThan(ban.seq)
    const [{ seqs }] = await stack.sql`
      select array_agg(seq::int order by seq) as seqs from (select seq from chat.messages where room_id = ${room} union all select seq from chat.events where room_id = ${room}) s`
    expect(seqs).toEqual(range(1, seqs.length))
    b.close()
  })

  test('owners and admins list the bans newest first with reason and banner, paged by cursor; members and outsiders may not', async () => {
    const [owner, admin, member, ...banned] = await people(6)
    const room = await createRoom(stack.url, owner, [admin, member, banned[0]])
    expect((await api(owner, 'PATCH', `/chat/rooms/${room}/members/${admin.userId}`, { role: 'admin' })).status).toBe(200)
    expect((await api(owner, 'POST', `/chat/rooms/${room}/bans`, { userId: banned[0].userId, reason: 'spam' })).status).toBe(204)
    expect((await api(admin, 'POST', `/chat/rooms/${room}/bans`, { userId: banned[1].userId })).status).toBe(204)
    expect((await api(owner, 'POST', `/chat/rooms/${room}/bans`, { userId: banned[2].userId })).status).toBe(204)
    const seen: Frame[] = []
    let cursor: string | null = null
    do {
      const page: Frame = await api(admin, 'GET', `/chat/rooms/${room}/bans?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`)
      expect(page.status).toBe(200)
      expect(page.body.items.length).toBeLessThanOrEqual(2)
      seen.push(...page.body.items)
      cursor = page.body.nextCursor
    } while (cursor !== null)
    expect(seen.map((b) => b.userId)).toEqual([banned[2].userId, banned[1].userId, banned[0].userId])
    expect(seen[2]).toMatchObject({ reason: 'spam', bannedBy: owner.userId })
    expect(seen[1]).toMatchObject({ reason: '', bannedBy: admin.userId })
    expect(Number.isNaN(Date.parse(seen[0].bannedAt))).toBe(false)
    // Unbanned users leave the list.
    expect((await api(owner, 'DELETE', `/chat/rooms/${room}/bans/${banned[1].userId}`)).status).toBe(204)
    expect((await api(owner, 'GET', `/chat/rooms/${room}/bans`)).body.items.map((b: Frame) => b.userId)).toEqual([banned[2].userId, banned[0].userId])
    expectError(await api(member, 'GET', `/chat/rooms/${room}/bans`), 403, 'NOT_ALLOWED')
    expectError(await api(owner, 'GET', `/chat/rooms/${room}/bans?cursor=nonsense`), 422, 'VALIDATION_FAILED')
    const outsider = await person(stack.url)
    expectError(await api(outsider, 'GET', `/chat/rooms/${room}/bans`), 403, 'FORBIDDEN')
    expectError(await api(outsider, 'GET', `/chat/rooms/${await privateRoom(owner)}/bans`), 404, 'NOT_FOUND')
  })

  test('a user can be banned before they ever join, and a plain member cannot ban', async () => {
    const [owner, member, stranger] = await people(3)
    const room = await createRoom(stack.url, owner, [member])
    expectError(await api(member, 'POST', `/chat/rooms/${room}/bans`, { userId: stranger.userId }), 403, 'NOT_ALLOWED')
    expect((await api(owner, 'POST', `/chat/rooms/${room}/bans`, { userId: stranger.userId })).status).toBe(204)
    expectError(await api(stranger, 'POST', `/chat/rooms/${room}/join`), 403, 'BANNED')
    expectError(await api(owner, 'POST', `/chat/rooms/${room}/bans`, { userId: stranger.userId, reason: 'x'.repeat(501) }), 422, 'VALIDATION_FAILED')
  })
})

describe('room settings and deletion', () => {
  test('the owner and admins rename the room and set its topic; a room event carries what changed; plain members cannot', async () => {
    const [owner, admin, member] = await people(3)
    const room = await createRoom(stack.url, owner, [admin, member])
    expect((await api(owner, 'PATCH', `/chat/rooms/${room}/members/${admin.userId}`, { role: 'admin' })).status).toBe(200)
    const renamed = await api(admin, 'PATCH', `/chat/rooms/${room}`, { name: 'Renamed', topic: 'Plans' })
    expect(renamed.status).toBe(200)
    expect(renamed.body).toMatchObject({ id: room, name: 'Renamed', topic: 'Plans', members: 3 })
    expect((await api(owner, 'PATCH', `/chat/rooms/${room}`, { name: 'Renamed', topic: '' })).body.topic).toBe('')
    expectError(await api(member, 'PATCH', `/chat/rooms/${room}`, { topic: 'mine now' }), 403, 'NOT_ALLOWED')
    expectError(await api(owner, 'PATCH', `/chat/rooms/${room}`, {}), 422)
    expectError(await api(owner, 'PATCH', `/chat/rooms/${room}`, { topic: 't'.repeat(501) }), 422, 'VALIDATION_FAILED')
    expectError(await api(owner, 'PATCH', `/chat/rooms/${room}`, { name: '   ' }), 422, 'VALIDATION_FAILED')
    const roomEvents = (await streamOf(member, room)).filter((item) => item.kind === 'room').map((item) => [item.actorId, item.data])
    expect(roomEvents).toEqual([
      [admin.userId, { name: 'Renamed', topic: 'Plans' }],
      [owner.userId, { topic: '' }],
    ])
  })

  test('the owner deletes the room: every member socket on both instances gets left{deleted} within 1 s and the room answers 404', async () => {
    const [owner, admin, bob] = await people(3)
    const room = await createRoom(stack.url, owner, [admin, bob])
    expect((await api(owner, 'PATCH', `/chat/rooms/${room}/members/${admin.userId}`, { role: 'admin' })).status).toBe(200)
    const writer = await connect(stack.url, owner.accessToken)
    await joinRoom(writer, room)
    writer.send({ type: 'send', room, body: 'soon gone', clientId: 'gone', ref: 'gone' })
    expect(await writer.next((f) => f.ref === 'gone')).toMatchObject({ type: 'ack' })
    expectError(await api(admin, 'DELETE', `/chat/rooms/${room}`), 403, 'NOT_ALLOWED')

    const sockets = await socketsOnBothInstances(bob)
    await joinRoom(sockets[0], room)
    await expectToldLeft([...sockets, writer], room, 'deleted', () => api(owner, 'DELETE', `/chat/rooms/${room}`))
    expectError(await api(bob, 'GET', `/chat/rooms/${room}/messages`), 404, 'NOT_FOUND')
    expectError(await api(owner, 'GET', `/chat/rooms/${room}`), 404, 'NOT_FOUND')
    const [{ messages, events }] = await stack.sql`
      select (select count(*)::int from chat.messages where room_id = ${room}) as messages,
        (select count(*)::int from chat.events where room_id = ${room}) as events`
    expect({ messages, events }).toEqual({ messages: 0, events: 0 })
    closeAll([...sockets, writer])
  })
})

describe('invites', () => {
  test('accepting an invite to a private room makes the caller a member; a used-up or expired code answers 410 and an unknown one 404', async () => {
    const [owner, first, second, third] = await people(4)
    const room = await privateRoom(owner)
    const created = await api(owner, 'POST', `/chat/rooms/${room}/invites`, { maxUses: 2, expiresInSeconds: 3600 })
    expect(created.status).toBe(201)
    expect(created.body).toEqual({ code: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/), expiresAt: expect.any(String), maxUses: 2 })
    const { code } = created.body
    expect(Math.abs(Date.parse(created.body.expiresAt) - Date.now() - 3600_000)).toBeLessThan(60_000)
    // Only the hash is stored.
    const stored = await stack.sql`select encode(code_hash, 'hex') as hash from chat.invites where room_id = ${room}`
    expect(stored.map((row) => row.hash)).toEqual([new Bun.CryptoHasher('sha256').update(code).digest('hex')])

    const accepted = await api(first, 'POST', `/chat/invites/${code}/accept`)
    expect(accepted.status).toBe(200)
    expect(accepted.body).toMatchObject({ id: room, private: true, members: 2 })
    // A member accepting again spends no use.
    expect((await api(first, 'POST', `/chat/invites/${code}/accept`)).status).toBe(200)
    expect((await api(second, 'POST', `/chat/invites/${code}/accept`)).status).toBe(200)
    expectError(await api(third, 'POST', `/chat/invites/${code}/accept`), 410, 'INVITE_EXPIRED')
    expectError(await api(third, 'POST', `/chat/invites/${'A'.repeat(22)}/accept`), 404, 'NOT_FOUND')

    const unlimited = (await api(owner, 'POST', `/chat/rooms/${room}/invites`, {})).body
    expect(unlimited.maxUses).toBeNull()
    await stack.sql`update chat.invites set expires_at = now() - interval '1 second' where code_hash = sha256(${unlimited.code}::bytea)`
    expectError(await api(third, 'POST', `/chat/invites/${unlimited.code}/accept`), 410, 'INVITE_EXPIRED')
    expect((await api(owner, 'GET', `/chat/rooms/${room}`)).body.members).toBe(3)
  })

  test('the codes of an admin who is demoted or removed stop working (410); the owner’s keep working', async () => {
    const [owner, admin, guest, other] = await people(4)
    const room = await privateRoom(owner)
    expect((await api(owner, 'POST', `/chat/rooms/${room}/members`, { userId: admin.userId })).status).toBe(204)
    expect((await api(owner, 'PATCH', `/chat/rooms/${room}/members/${admin.userId}`, { role: 'admin' })).status).toBe(200)
    const adminCode = (await api(admin, 'POST', `/chat/rooms/${room}/invites`, {})).body.code
    const ownerCode = (await api(owner, 'POST', `/chat/rooms/${room}/invites`, {})).body.code
    expect((await api(owner, 'PATCH', `/chat/rooms/${room}/members/${admin.userId}`, { role: 'member' })).status).toBe(200)
    expectError(await api(guest, 'POST', `/chat/invites/${adminCode}/accept`), 410, 'INVITE_EXPIRED')
    expect((await api(owner, 'DELETE', `/chat/rooms/${room}/members/${admin.userId}`)).status).toBe(204)
    expectError(await api(other, 'POST', `/chat/invites/${adminCode}/accept`), 410, 'INVITE_EXPIRED')
    expect((await api(guest, 'POST', `/chat/invites/${ownerCode}/accept`)).status).toBe(200)
  })

  test('concurrent accepts of an invite never exceed its maxUses', async () => {
    const owner = await person(stack.url)
    const guests = await people(6)
    const room = await privateRoom(owner)
    const { code } = (await api(owner, 'POST', `/chat/rooms/${room}/invites`, { maxUses: 2 })).body
    const answers = await Promise.all(guests.map((guest) => api(guest, 'POST', `/chat/invites/${code}/accept`)))
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 410, 410, 410, 410])
    const [{ uses }] = await stack.sql`select uses from chat.invites where room_id = ${room}`
    expect(uses).toBe(2)
    expect((await api(owner, 'GET', `/chat/rooms/${room}`)).body.members).toBe(3)
  })

  test('only the owner and admins create invites, within the configured bounds', async () => {
    const [owner, member] = await people(2)
    const room = await createRoom(stack.url, owner, [member])
    expectError(await api(member, 'POST', `/chat/rooms/${room}/invites`, {}), 403, 'NOT_ALLOWED')
    expectError(await api(owner, 'POST', `/chat/rooms/${room}/invites`, { maxUses: 1001 }), 422, 'VALIDATION_FAILED')
    expectError(await api(owner, 'POST', `/chat/rooms/${room}/invites`, { expiresInSeconds: 604_801 }), 422, 'VALIDATION_FAILED')
    expectError(await api(owner, 'POST', `/chat/rooms/${room}/invites`, { maxUses: 0 }), 422)
    expectError(await api(owner, 'POST', `/chat/rooms/${room}/invites`, { extra: true }), 422)
    expect((await api(owner, 'POST', `/chat/rooms/${room}/invites`, { expiresInSeconds: 604_800 })).status).toBe(201)
  })

  test('guessing codes is rate limited per user: past the limit, 429 with Retry-After', async () => {
    const guesser = await person(stack.url)
    for (let i = 0; i < ACCEPTS_PER_USER; i++) expectError(await api(guesser, 'POST', `/chat/invites/guess${i}/accept`), 404, 'NOT_FOUND')
    const refused = await api(guesser, 'POST', '/chat/invites/guess-more/accept')
    expectError(refused, 429, 'RATE_LIMITED')
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
  })
})

describe('live membership', () => {
  test('every socket of a user, on both instances, gets room_added when they join, are added, get a DM or accept an invite', async () => {
    const [owner, bob] = await people(2)
    const sockets = await socketsOnBothInstances(bob)
    const expectAdded = async (room: string) => {
      for (const socket of sockets) expect(await socket.next(isRoomAdded(room), 1000)).toEqual({ type: 'room_added', room })
    }
    const open = await createRoom(stack.url, owner)
    expect((await api(bob, 'POST', `/chat/rooms/${open}/join`)).status).toBe(204)
    await expectAdded(open)
    const added = await privateRoom(owner)
    expect((await api(owner, 'POST', `/chat/rooms/${added}/members`, { userId: bob.userId })).status).toBe(204)
    await expectAdded(added)
    const dm = (await api(owner, 'POST', '/chat/dms', { userId: bob.userId })).body.id
    await expectAdded(dm)
    const invited = await privateRoom(owner)
    const { code } = (await api(owner, 'POST', `/chat/rooms/${invited}/invites`, {})).body
    expect((await api(bob, 'POST', `/chat/invites/${code}/accept`)).status).toBe(200)
    await expectAdded(invited)
    // Joining a room one is already in begins nothing.
    expect((await api(bob, 'POST', `/chat/rooms/${open}/join`)).status).toBe(204)
    for (const socket of sockets) expect(socket.frames.filter(isRoomAdded(open))).toHaveLength(1)
    closeAll(sockets)
  })
})

describe('read receipts', () => {
  test('each member’s marker is listed, and a moving marker reaches joined sockets on both instances as a receipt frame', async () => {
    const [owner, bob, outsider] = await people(3)
    const room = await createRoom(stack.url, owner, [bob])
    const writer = await connect(stack.url, owner.accessToken)
    await joinRoom(writer, room)
    for (const n of range(1, 3)) {
      writer.send({ type: 'send', room, body: `m${n}`, clientId: `m${n}`, ref: `m${n}` })
      await writer.next((f) => f.ref === `m${n}`)
    }
    const lastSeq = (await api(owner, 'GET', `/chat/rooms/${room}`)).body.lastSeq
    const readers = await socketsOnBothInstances(owner)
    for (const socket of readers) await joinRoom(socket, room)

    expect((await api(bob, 'POST', `/chat/rooms/${room}/read`, { seq: lastSeq })).status).toBe(204)
    for (const socket of readers) {
      expect(await socket.next((f) => f.type === 'receipt' && f.userId === bob.userId, 2000)).toEqual({ type: 'receipt', room, userId: bob.userId, seq: lastSeq })
    }
    expect((await api(owner, 'GET', `/chat/rooms/${room}/receipts`)).body).toEqual([{ userId: bob.userId, seq: lastSeq }])
    // Backwards moves nothing and sends nothing.
    expect((await api(bob, 'POST', `/chat/rooms/${room}/read`, { seq: 1 })).status).toBe(204)
    expect((await api(bob, 'GET', `/chat/rooms/${room}/receipts`)).body).toEqual([{ userId: bob.userId, seq: lastSeq }])
    expectError(await api(outsider, 'GET', `/chat/rooms/${room}/receipts`), 403, 'FORBIDDEN')
    expectError(await api(outsider, 'GET', `/chat/rooms/${await privateRoom(owner)}/receipts`), 404, 'NOT_FOUND')
    closeAll([...readers, writer])
  })

  test('a marker moved many times in a burst arrives as a few coalesced receipt frames ending at its newest value', async () => {
    const [owner, bob] = await people(2)
    const room = await createRoom(stack.url, owner, [bob])
    const writer = await connect(stack.url, owner.accessToken)
    await joinRoom(writer, room)
    const total = 40
    for (const n of range(1, total)) writer.send({ type: 'send', room, body: `m${n}`, clientId: `m${n}` })
    await writer.collect((f) => f.type === 'ack', total, 10_000)
    const lastSeq = (await api(owner, 'GET', `/chat/rooms/${room}`)).body.lastSeq
    const started = performance.now()
    for (let seq = lastSeq - total + 1; seq <= lastSeq; seq++) expect((await api(bob, 'POST', `/chat/rooms/${room}/read`, { seq })).status).toBe(204)
    const elapsedSeconds = (performance.now() - started) / 1000
    await writer.next((f) => f.type === 'receipt' && f.seq === lastSeq, 2000)
    const receipts = writer.frames.filter((f) => f.type === 'receipt')
    // One burst per RECEIPT_FLUSH_MS (250 ms) at most, each with Bob's newest marker only.
    expect(receipts.length).toBeLessThanOrEqual(Math.ceil(elapsedSeconds * 4) + 2)
    expect(receipts.length).toBeLessThan(total)
    expect(receipts.map((f) => f.seq)).toEqual([...receipts.map((f) => f.seq)].sort((a, b) => a - b))
    writer.close()
  })
})

describe('membership and room events in the stream', () => {
  test('join{since} replays messages, member and room events in seq order with no gap', async () => {
    const [owner, bob, carol] = await people(3)
    const room = await createRoom(stack.url, owner, [bob])
    const writer = await connect(stack.url, owner.accessToken)
    await joinRoom(writer, room, 0)
    writer.send({ type: 'send', room, body: 'hello', clientId: 'hello', ref: 'hello' })
    await writer.next((f) => f.ref === 'hello')
    expect((await api(owner, 'PATCH', `/chat/rooms/${room}/members/${bob.userId}`, { role: 'admin' })).status).toBe(200)
    expect((await api(bob, 'PATCH', `/chat/rooms/${room}`, { topic: 'News' })).status).toBe(200)
    expect((await api(carol, 'POST', `/chat/rooms/${room}/join`)).status).toBe(204)
    expect((await api(bob, 'DELETE', `/chat/rooms/${room}/members/${carol.userId}`)).status).toBe(204)
    expect((await api(bob, 'POST', `/chat/rooms/${room}/bans`, { userId: carol.userId })).status).toBe(204)
    expect((await api(owner, 'DELETE', `/chat/rooms/${room}/bans/${carol.userId}`)).status).toBe(204)
    writer.send({ type: 'send', room, body: 'bye', clientId: 'bye', ref: 'bye' })
    const last = await writer.next((f) => f.ref === 'bye')

    // Live, on the writer's socket, and replayed on a fresh one on the other instance.
    const replayer = await connect(stack.instancesOf('chat')[1].url, owner.accessToken)
    replayer.send({ type: 'join', room, since: 0 })
    const isItem = (f: Frame) => (f.type === 'message' || f.type === 'event') && f.room === room
    for (const socket of [writer, replayer]) {
      const items = await socket.collect(isItem, last.seq, 5000)
      expect(items.map((f) => f.seq)).toEqual(range(1, last.seq))
      expect(items.map((f) => (f.type === 'message' ? f.body : f.kind === 'room' ? `room ${f.data.topic}` : `${f.data.change}`))).toEqual([
        'joined',
        'hello',
        'role',
        'room News',
        'joined',
        'removed',
        'banned',
        'unbanned',
        'bye',
      ])
    }
    closeAll([writer, replayer])
  })
})
