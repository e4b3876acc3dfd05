/**
 * Memory per idle authenticated socket: one chat instance, BENCH_SOCKETS sockets opened
 * directly to it, each authenticated (`ready` received) and then left idle. Prints the chat
 * process's resident memory before, after and per socket. The sockets belong to a few users
 * (the per-user cap is raised for the run), so registration's argon2id does not dominate.
 *
 *   bun run bench:sockets
 *   BENCH_SOCKETS=2000 bun run bench:sockets
 *
 * Target (issue 11): at most 30 KB per idle authenticated socket at 10,000 sockets.
 */
import { readFileSync } from 'node:fs'
import { login, register } from '../scripts/api-client'
import { startTestStack } from '../scripts/test-stack'
import { connect, type SocketClient } from '../scripts/ws-client'
import { runBench } from './lifecycle'
import { backgroundLoad, markdownTable, reportHeader } from './report'
import { positiveInt } from './settings'

const SOCKETS = positiveInt('BENCH_SOCKETS', 10_000)
const USERS = 10
const CONNECT_CONCURRENCY = 50
/** After the last `ready`: timers, GC and the kernel's buffers settle before the second reading. */
const SETTLE_MS = 5000

/** Resident memory of a process in bytes (VmRSS of /proc). */
function residentBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))
  return Number(line?.match(/(\d+)/)?.[1] ?? Number.NaN) * 1024
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`

async function main() {
  console.error('bench: starting the stack (one chat instance)…')
  const stack = await startTestStack({
    chat: 1,
    env: { LOG_LEVEL: 'warn', MAX_SOCKETS_PER_USER: String(Math.ceil(SOCKETS / USERS)) },
  })
  const sockets: SocketClient[] = []
  try {
    const chat = stack.instancesOf('chat')[0]
    const tokens: string[] = []
    for (let i = 0; i < USERS; i++) tokens.push((await login(stack.url, await register(stack.url))).accessToken)
    // One socket first, so the reading before counts the process warm (its code paths loaded).
    sockets.push(await connect(chat.url, tokens[0]))
    await Bun.sleep(SETTLE_MS)
    const before = residentBytes(chat.proc.pid)
    const started = performance.now()
    for (let next = 1; next < SOCKETS; ) {
      const batch = Math.min(CONNECT_CONCURRENCY, SOCKETS - next)
      const opened = await Promise.all(Array.from({ length: batch }, (_, i) => connect(chat.url, tokens[(next + i) % USERS])))
      sockets.push(...opened)
      next += batch
    }
    const openSeconds = (performance.now() - started) / 1000
    await Bun.sleep(SETTLE_MS)
    const after = residentBytes(chat.proc.pid)
    const perSocket = (after - before) / (SOCKETS - 1)
    console.log(
      [
        ...reportHeader({
          software: `Bun ${Bun.version}, one chat instance, sockets straight to it`,
          load: `${SOCKETS} sockets of ${USERS} users, each authenticated (ready) and idle, opened ${CONNECT_CONCURRENCY} at a time in ${openSeconds.toFixed(1)} s`,
          background: await backgroundLoad(),
        }),
        ...markdownTable(
          ['sockets', 'chat RSS before', 'chat RSS after', 'per socket'],
          [[String(SOCKETS), mib(before), mib(after), `${(perSocket / 1024).toFixed(1)} KB`]],
        ),
      ].join('\n'),
    )
  } finally {
    for (const socket of sockets) socket.close()
    await stack.stop()
  }
}

await runBench(main)
