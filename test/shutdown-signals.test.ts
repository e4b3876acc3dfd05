import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startTestStack, type TestStack } from './harness'

// Ctrl-C in a terminal sends SIGINT to every process of the group, and `bun run dev` then
// stops each service with SIGTERM too: a service must stop once and exit, not hang.

const EXIT_WITHIN_MS = 5000
let stack: TestStack

beforeAll(async () => {
  stack = await startTestStack({ auth: 1, user: 1, caddy: false })
})

afterAll(async () => {
  await stack?.stop()
})

test('a service sent SIGINT and then SIGTERM stops once and exits with code 0', async () => {
  for (const instance of [...stack.instances]) {
    instance.proc.kill('SIGINT')
    instance.proc.kill('SIGTERM')
    const exitCode = await Promise.race([instance.proc.exited, Bun.sleep(EXIT_WITHIN_MS).then(() => 'still running')])
    expect({ instance: instance.name, exitCode }).toEqual({ instance: instance.name, exitCode: 0 })
    const log = await Bun.file(instance.child.logFile!).text()
    expect(log.match(/"msg":"stopping"/g)).toHaveLength(1)
  }
}, 30_000)
