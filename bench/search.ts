/**
 * Full-text search (`GET /chat/search`) over a seeded table of a million messages:
 * latency percentiles per kind of query, asked of one chat instance directly (not through
 * Caddy), one request at a time, so the figures are the query's own cost.
 *
 * The table is seeded in one `insert … select … generate_series` (with the search index
 * dropped during the insert and built after, as a bulk load would): BENCH_MESSAGES spread
 * over BENCH_ROOMS rooms and 30 days, bodies of 4–20 words drawn with a skewed frequency
 * from a chat vocabulary (so some words are in a third of all messages and some in a
 * handful), plus numbered tokens (`ticket1234`) that each appear in about ten. The
 * searching user is a member of BENCH_MEMBER_ROOMS of the rooms, as a user of a big
 * workspace is.
 *
 *   bun run bench:search                          1,000,000 messages, 200 requests per query
 *   BENCH_MESSAGES=100000 bun run bench:search    a quicker look
 *
 * Settings (environment): BENCH_MESSAGES (1000000), BENCH_ROOMS (200),
 * BENCH_MEMBER_ROOMS (20), BENCH_REQUESTS (200 per query), BENCH_WARMUP_REQUESTS (20).
 */
import { CREATE_SEARCH_INDEX } from '../chat/src/search/language'
import { call, login, register } from '../scripts/api-client'
import { startTestStack, type TestStack } from '../scripts/test-stack'
import { atCleanUp, runBench } from './lifecycle'
import { markdownTable, ms } from './report'
import { positiveInt } from './settings'

const MESSAGES = positiveInt('BENCH_MESSAGES', 1_000_000)
const ROOMS = positiveInt('BENCH_ROOMS', 200)
const MEMBER_ROOMS = Math.min(ROOMS, positiveInt('BENCH_MEMBER_ROOMS', 20))
const REQUESTS = positiveInt('BENCH_REQUESTS', 200)
const WARMUP_REQUESTS = positiveInt('BENCH_WARMUP_REQUESTS', 20, { allowZero: true })
/** The target for the 95th percentile. */
const TARGET_P95_MS = 50
/** Seeded messages are spread over this many days before the run, oldest first in seq. */
const SPREAD_DAYS = 30
/** Distinct bodies: each is used by about ten messages… */
const BODIES = Math.max(1, Math.floor(MESSAGES / 10))
/** …and every seventh carries its own numbered token (`ticket700`), so a token is in about ten messages. */
const TOKEN_EVERY = 7

/**
 * Words of a team chat, most frequent first: the seed picks index ⌊n·r³⌋ (r uniform), so
 * the first few are in a large share of messages and the last in a small one. Inflected
 * forms are there on purpose: stemming makes `deploy` find `deployed` and `deploying`.
 */
const VOCABULARY = `the a to is and i it you we for on that this in of be with have are just can not will
ok yes no so but what do at if get now all was thanks good think need one know should about like can't
there up out from how when time today then would let's see make did fix more build test check it's new
please also here work any still some looks sure back merge branch release review deploy deployed deploying
meeting tomorrow morning yesterday issue bug error failing passed running runs ran server database query
index cache redis postgres latency memory timeout retry customer ticket support docs update updated changes
change config settings migration migrations schema table rows log logs alert alerts page pager incident
rollback hotfix staging production prod canary metrics dashboard graph spike slow fast cpu disk network
lunch coffee weekend holiday vacation office remote call zoom slack email calendar invite agenda notes
design mockup figma frontend backend api endpoint client browser mobile android ios release-notes changelog
version upgrade dependency package npm bun typescript javascript compile lint format pipeline ci cd job
queue worker cron scheduler batch export import csv report invoice billing payment refund subscription
onboarding signup login password token session auth oauth permission role admin owner member guest
kubernetes docker container pod node cluster region zone replica failover backup restore snapshot
encryption certificate tls dns domain proxy caddy nginx loadbalancer firewall vpn ssh key rotation
quarterly roadmap milestone sprint retro standup estimate priority blocker deadline launch announcement
hiring interview candidate offer promotion feedback review-cycle okr budget forecast revenue churn
penguin volcano saxophone origami trebuchet quokka zeppelin marzipan kaleidoscope`.split(/\s+/)

const QUERIES: { name: string; params: Record<string, string> }[] = [
  { name: 'frequent word', params: { q: 'the' } },
  { name: 'common word', params: { q: 'deploy' } },
  { name: 'stemmed form', params: { q: 'running' } },
  { name: 'two words', params: { q: 'database timeout' } },
  { name: 'phrase', params: { q: '"deploy the"' } },
  { name: 'word minus word', params: { q: 'release -rollback' } },
  { name: 'rarest vocabulary word', params: { q: 'kaleidoscope' } },
  { name: 'numbered token (~10 messages)', params: { q: `ticket${TOKEN_EVERY * Math.floor(BODIES / TOKEN_EVERY / 2)}` } },
  { name: 'no match', params: { q: 'xylophonist' } },
  { name: 'one room, common word', params: { q: 'deploy', room: '' } },
]

async function seed(stack: TestStack, searcherId: string): Promise<string[]> {
  const { sql } = stack
  const started = performance.now()
  const rooms = Array.from({ length: ROOMS }, () => crypto.randomUUID())
  await sql`insert into chat.rooms (id, name, owner_id) select id, 'bench ' || n, ${searcherId} from unnest(${rooms}::uuid[]) with ordinality as r (id, n)`
  await sql`insert into chat.members (room_id, user_id, role) select unnest(${rooms.slice(0, MEMBER_ROOMS)}::uuid[]), ${searcherId}, 'member'`
  // Built once after the load, as a bulk load would, rather than updated a million times.
  await sql`drop index chat.messages_search, chat.messages_by_time`
  await sql.begin(async (tx) => {
    await tx`set local maintenance_work_mem = '256MB'`
    // Distinct bodies first, then one insert that gives each message one of them: drawing
    // words per message would cost ten times as long for the same word frequencies.
    await tx`
      create temporary table bench_bodies on commit drop as
      select n, array_to_string(array(
          select case when n % ${TOKEN_EVERY} = 0 and w = 1 then 'ticket' || n
                 else list[1 + floor(power(random(), 3) * array_length(list, 1))::int] end
          from generate_series(1, 4 + (n * 7) % 17) as w
        ), ' ') as body
      from generate_series(0, ${BODIES - 1}) as n, (select ${VOCABULARY}::text[] as list) as words`
    // The room of message g is g mod ROOMS, its seq the count before it in that room.
    await tx`
      insert into chat.messages (room_id, seq, id, sender_id, body, client_id, created_at)
      select (${rooms}::uuid[])[1 + g % ${ROOMS}], 1 + g / ${ROOMS}, gen_random_uuid(), gen_random_uuid(), b.body, 'seed-' || g,
        now() - make_interval(secs => (${MESSAGES} - g) * ${(SPREAD_DAYS * 86_400) / MESSAGES}::float8)
      from generate_series(0, ${MESSAGES - 1}) as g
      join bench_bodies b on b.n = (g::bigint * 7919) % ${BODIES}`
    await tx`update chat.rooms r set last_seq = (select max(seq) from chat.messages m where m.room_id = r.id) where r.id = any(${rooms}::uuid[])`
    await tx.unsafe(CREATE_SEARCH_INDEX)
    await tx`create index messages_by_time on chat.messages (created_at desc, room_id desc, seq desc)`
  })
  // What autovacuum would have done by the time anyone searches: statistics, and the
  // visibility map and hint bits, without which the first reads rewrite every page.
  await sql`vacuum (analyze) chat.messages`
  console.error(`bench: seeded ${MESSAGES.toLocaleString('en')} messages in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  return rooms
}

function percentile(sorted: number[], share: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)]
}

await runBench(async () => {
  console.error('bench: starting a stack (one chat instance)…')
  const stack = await startTestStack({ chat: 1 })
  atCleanUp(() => stack.stop())
  const account = await register(stack.url)
  const token = (await login(stack.url, account)).accessToken
  const rooms = await seed(stack, account.id)
  const chatUrl = stack.instancesOf('chat')[0].url

  const rows: string[][] = []
  let worstP95 = 0
  for (const query of QUERIES) {
    const params = { ...query.params, ...(query.params.room === '' ? { room: rooms[0] } : {}) }
    const path = `/chat/search?${new URLSearchParams(params)}`
    const times: number[] = []
    let found = 0
    for (let i = 0; i < WARMUP_REQUESTS + REQUESTS; i++) {
      const started = performance.now()
      const answer = await call(chatUrl, 'GET', path, { token })
      const elapsed = performance.now() - started
      if (answer.status !== 200) throw new Error(`${query.name}: ${answer.status} ${JSON.stringify(answer.body)}`)
      if (i >= WARMUP_REQUESTS) times.push(elapsed)
      found = answer.body.items.length
    }
    times.sort((a, b) => a - b)
    const p95 = percentile(times, 0.95)
    worstP95 = Math.max(worstP95, p95)
    rows.push([query.name, `\`${new URLSearchParams(query.params).toString().replace(/&?room=/, ' +room')}\``, String(found), ms(percentile(times, 0.5)), ms(p95), ms(times.at(-1)!)])
  }
  console.log(`Search over ${MESSAGES.toLocaleString('en')} messages in ${ROOMS} rooms; the searcher is in ${MEMBER_ROOMS} of them; ${REQUESTS} requests per query, one at a time, straight to the chat instance. Times in ms.\n`)
  for (const line of markdownTable(['query', 'params', 'items (page)', 'p50', 'p95', 'max'], rows)) console.log(line)
  console.log(`\nworst p95: ${ms(worstP95)} ms (target < ${TARGET_P95_MS} ms)`)
})
