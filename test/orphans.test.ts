import { afterAll, expect, test } from 'bun:test'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { dropTestDatabase, releaseRedisDb } from './harness'
import { waitUntil } from './wait'

// A test run killed from outside (SIGKILL: no exit hook, no signal handler) must not leave
// services or Caddy running and holding ports.

/** The reaper sends SIGTERM, then SIGKILL after its grace period. */
const GONE_WITHIN_MS = 8000
const STARTED_WITHIN_MS = 45_000

/** Starts a stack the way a test file does, prints what to clean up, and waits to be killed. */
const STARTER = `
const { startTestStack } = await import(${JSON.stringify(join(import.meta.dir, 'harness.ts'))})
const stack = await startTestStack({ auth: 1, user: 1, chat: 0 })
console.log(JSON.stringify({ databaseUrl: stack.databaseUrl, redisUrl: stack.redisUrl }))
setInterval(() => {}, 1 << 30)
`

/** Every live process whose parent chain leads to `root`, read from /proc. */
function descendantsOf(root: number): number[] {
  const parentOf = new Map<number, number>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(join('/proc', entry, 'stat'), 'utf8')
      // Fields after the command name, which is in parentheses and may hold spaces.
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (state !== 'Z') parentOf.set(Number(entry), Number(ppid))
    } catch {
      // Gone between the listing and the read.
    }
  }
  const found: number[] = []
  const walk = (pid: number) => {
    for (const [child, parent] of parentOf) if (parent === pid) found.push(child), walk(child)
  }
  walk(root)
  return found
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const leftovers: { databaseUrl: string; redisUrl: string }[] = []

afterAll(async () => {
  for (const { databaseUrl, redisUrl } of leftovers) await Promise.all([dropTestDatabase(databaseUrl), releaseRedisDb(redisUrl)])
})

test('services and Caddy die with the process that started them, even when it is killed with SIGKILL', async () => {
  const starter = Bun.spawn({ cmd: [process.execPath, '-e', STARTER], stdout: 'pipe', stderr: 'inherit' })
  const reader = starter.stdout.getReader()
  const { value } = await Promise.race([
    reader.read(),
    Bun.sleep(STARTED_WITHIN_MS).then(() => ({ value: undefined })),
  ])
  expect(value).toBeDefined()
  leftovers.push(JSON.parse(new TextDecoder().decode(value)))

  const started = descendantsOf(starter.pid)
  const commands = started.map((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' '))
  // auth, user, Caddy and the reaper at least.
  expect(commands.some((command) => command.startsWith('caddy '))).toBe(true)
  expect(commands.filter((command) => /\/src\/index\.ts/.test(command))).toHaveLength(2)

  starter.kill('SIGKILL')
  await starter.exited
  await waitUntil(() => started.every((pid) => !isAlive(pid)), `every process it started has exited (${started.join(', ')})`, GONE_WITHIN_MS)
}, STARTED_WITHIN_MS + GONE_WITHIN_MS + 5000)
