import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { register } from '../../test/client'
import { startTestStack, type TestStack } from '../../test/harness'

/**
 * `@chat/client` as a consumer gets it: packed with `npm pack` (which builds it), installed
 * from the tarball into an empty project beside `typescript`, the README's example
 * type-checked there under `strict` (the package's declarations included), then run
 * against a real stack: connect, join, send, and the edit event applied to the room state.
 */
const CLIENT_DIR = join(import.meta.dir, '..')
/** Packing builds the bundle and the declarations; installing fetches typescript from the registry. */
const STEP_TIMEOUT_MS = 240_000
const TYPESCRIPT_VERSION = '5.9.3'

let stack: TestStack
let project: string

function run(cmd: string[], cwd: string, timeoutMs = STEP_TIMEOUT_MS): string {
  const result = Bun.spawnSync(cmd, { cwd, stdout: 'pipe', stderr: 'pipe', timeout: timeoutMs, env: { ...process.env, npm_config_update_notifier: 'false' } })
  const output = `${result.stdout.toString()}${result.stderr.toString()}`
  if (!result.success) throw new Error(`${cmd.join(' ')} failed (${result.exitCode}):\n${output.slice(-4000)}`)
  return result.stdout.toString()
}

beforeAll(async () => {
  ;[stack, project] = await Promise.all([startTestStack({ chat: 1 }), mkdtemp(join(tmpdir(), 'chat-client-consumer-'))])
}, STEP_TIMEOUT_MS)
afterAll(async () => {
  await stack?.stop()
  if (project !== undefined) await rm(project, { recursive: true, force: true })
})

describe('@chat/client as an installed package', () => {
  let example: string

  test('npm pack builds a tarball with only the bundle, its declarations and the README', async () => {
    const [packed] = JSON.parse(run(['npm', 'pack', '--json', '--pack-destination', project], CLIENT_DIR)) as { filename: string; files: { path: string }[] }[]
    expect(packed.files.map((f) => f.path).sort()).toEqual(['README.md', 'dist/index.d.ts', 'dist/index.js', 'dist/index.js.map', 'package.json'])
    await Bun.write(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }))
    run(['npm', 'install', '--no-audit', '--no-fund', '--prefer-offline', join(project, packed.filename), `typescript@${TYPESCRIPT_VERSION}`], project)
  }, STEP_TIMEOUT_MS)

  test('the README example type-checks in a fresh project, declarations included', async () => {
    const readme = await Bun.file(join(CLIENT_DIR, 'README.md')).text()
    example = /```ts\n([\s\S]*?)```/.exec(readme)![1]
    await Bun.write(join(project, 'example.ts'), example)
    run(
      [join(project, 'node_modules', '.bin', 'tsc'), '--noEmit', '--strict', '--skipLibCheck', 'false', '--target', 'es2023', '--module', 'esnext', '--moduleResolution', 'bundler', '--lib', 'es2023,dom', 'example.ts'],
      project,
    )
  }, STEP_TIMEOUT_MS)

  test('the example runs against the stack: it connects, joins, sends and sees its edit applied', async () => {
    const account = await register(stack.url)
    const script = example
      .replace("'http://localhost:8080'", JSON.stringify(stack.url))
      .replace("api.login('ada', 'correct horse battery staple')", `api.login(${JSON.stringify(account.username)}, ${JSON.stringify(account.password)})`)
    expect(script).not.toBe(example)
    await Bun.write(join(project, 'run.ts'), script)
    const child = Bun.spawn(['bun', 'run.ts'], { cwd: project, stdout: 'pipe', stderr: 'pipe', timeout: 30_000 })
    const [output, errors, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited])
    expect({ code, errors }).toEqual({ code: 0, errors: '' })
    const message = JSON.parse(output.trim().split('\n').at(-1)!)
    expect(message).toMatchObject({ body: 'hello world', senderId: account.id, editedAt: expect.any(String), seq: expect.any(Number) })
  }, STEP_TIMEOUT_MS)
})
