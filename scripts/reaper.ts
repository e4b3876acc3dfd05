/**
 * Started by scripts/child.ts beside the processes it spawns: its stdin is a pipe from that
 * parent, which writes `+<pid>` for each child it starts and `-<pid>` once one has exited.
 * When the parent dies, however (even SIGKILL, where no exit hook runs), the pipe closes,
 * and this stops every child still listed: SIGTERM, then SIGKILL after a grace period.
 */

/** Time a child gets to shut down after SIGTERM; Caddy's own grace period is 3 s. */
const GRACE_MS = 4000
const POLL_MS = 50

const pids = new Set<number>()

// A module (for top-level await), though nothing imports it.
export {}

// Ctrl-C, SIGHUP and a group SIGTERM reach this process too; it must outlive the parent to do its job.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {})

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

function signalAll(signal: 'SIGTERM' | 'SIGKILL') {
  for (const pid of pids) {
    try {
      process.kill(pid, signal)
    } catch {
      pids.delete(pid)
    }
  }
}

function apply(line: string) {
  const pid = Number(line.slice(1))
  if (!Number.isInteger(pid) || pid <= 0) return
  if (line.startsWith('+')) pids.add(pid)
  else if (line.startsWith('-')) pids.delete(pid)
}

let pending = ''
const decoder = new TextDecoder()
for await (const chunk of Bun.stdin.stream()) {
  pending += decoder.decode(chunk, { stream: true })
  const lines = pending.split('\n')
  pending = lines.pop()!
  for (const line of lines) apply(line.trim())
}

signalAll('SIGTERM')
const deadline = Date.now() + GRACE_MS
while (Date.now() < deadline && [...pids].some(isAlive)) await Bun.sleep(POLL_MS)
signalAll('SIGKILL')
process.exit(0)
