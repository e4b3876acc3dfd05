/**
 * `POST /auth/password/forgot` latency while mail cannot go out: the mail is queued in the
 * outbox, never sent inside the request, so a slow or dead SMTP server must not show in the
 * answer time; and a known address must not answer measurably slower than an unknown one.
 *
 *   bun run bench:forgot     (FORGOT_BENCH_REQUESTS per row, default 400; FORGOT_BENCH_CONCURRENCY, default 4)
 *
 * Rows: SMTP down (nothing listens on SMTP_URL's port) and SMTP slow (a server that accepts
 * the connection and never greets, so each delivery waits out its timeout); each for a
 * registered and an unknown address, requests interleaved. Through Caddy, like a browser.
 */
import { startTestStack } from '../scripts/test-stack'
import { findFreePorts } from '../scripts/net'
import { call, register } from '../scripts/api-client'
import { backgroundLoad, markdownTable, ms, reportHeader } from './report'
import { quantile } from './scale-model'
import { positiveInt } from './settings'

const REQUESTS = positiveInt('FORGOT_BENCH_REQUESTS', 400)
const CONCURRENCY = positiveInt('FORGOT_BENCH_CONCURRENCY', 4)


async function measure(baseUrl: string, known: string): Promise<{ known: number[]; unknown: number[] }> {
  const times = { known: [] as number[], unknown: [] as number[] }
  let next = 0
  const worker = async () => {
    while (next < REQUESTS) {
      const i = next++
      const kind = i % 2 === 0 ? 'known' : 'unknown'
      const email = kind === 'known' ? known : `nobody-${i}-${known}`
      const started = performance.now()
      const answer = await call(baseUrl, 'POST', '/auth/password/forgot', { body: { email } })
      const elapsed = performance.now() - started
      if (answer.status !== 202) throw new Error(`forgot answered ${answer.status}: ${JSON.stringify(answer.body)}`)
      times[kind].push(elapsed)
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  return times
}

async function row(name: string, smtpUrl: string): Promise<string[][]> {
  const stack = await startTestStack({
    auth: 1,
    user: 1,
    env: {
      SMTP_URL: smtpUrl,
      MAIL_SEND_TIMEOUT_MS: '5000',
      // Every request of the bench does the full work: no per-address or per-IP cut-off.
      FORGOT_MAX_PER_ADDRESS: '1000000',
      FORGOT_MAX_PER_IP: '1000000',
    },
  })
  try {
    const account = await register(stack.url)
    // Warm-up: connections, prepared statements, JIT.
    for (let i = 0; i < 20; i++) await call(stack.url, 'POST', '/auth/password/forgot', { body: { email: account.email } })
    const times = await measure(stack.url, account.email)
    const [pending] = await stack.sql<{ count: number }[]>`select count(*)::int as count from auth.outbox where failed_at is null`
    return (['known', 'unknown'] as const).map((kind) => {
      const sorted = [...times[kind]].sort((a, b) => a - b)
      return [`${name}, ${kind} address`, String(sorted.length), ms(quantile(sorted, 0.5)), ms(quantile(sorted, 0.95)), ms(quantile(sorted, 0.99)), kind === 'known' ? String(pending.count) : '–']
    })
  } finally {
    await stack.stop()
  }
}

const [downPort, slowPort] = await findFreePorts(2)
// Accepts and says nothing: a delivery hangs until MAIL_SEND_TIMEOUT_MS.
const silent = Bun.listen({ hostname: '127.0.0.1', port: slowPort, socket: { data() {} } })
try {
  const background = await backgroundLoad()
  const rows = [...(await row('SMTP down', `smtp://127.0.0.1:${downPort}`)), ...(await row('SMTP slow', `smtp://127.0.0.1:${slowPort}`))]
  console.log(
    [
      ...reportHeader({ software: `Bun ${Bun.version}, one auth instance behind Caddy`, load: `${REQUESTS} requests per row, ${CONCURRENCY} at a time`, background }),
      ...markdownTable(['row', 'requests', 'p50 ms', 'p95 ms', 'p99 ms', 'outbox rows left'], rows),
    ].join('\n'),
  )
} finally {
  silent.stop(true)
}
