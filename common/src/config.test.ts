import { describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { Type as t } from '@sinclair/typebox'
import { BaseConfig, loadConfig, withoutCredentials } from './config'
import { describeRedisTarget, redisTarget } from './redis'

const REPO_ROOT = join(import.meta.dir, '..', '..')
const CONFIG_MODULE = join(import.meta.dir, 'config.ts')

describe('loadConfig with good settings', () => {
  test('fills every unset setting with its default', () => {
    expect(loadConfig(BaseConfig, {})).toEqual({
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres',
      DATABASE_STATEMENT_TIMEOUT_MS: 10_000,
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_CLUSTER_NODES: '',
      REDIS_CLUSTER_TOPOLOGY_REFRESH_MS: 1000,
      PUBLIC_ORIGIN: 'http://localhost:8080',
      JWT_ISSUER: 'http://localhost:8080/auth',
      JWT_AUDIENCE: 'chat-api',
      AUTH_JWKS_URL: 'http://127.0.0.1:3001/auth/.well-known/jwks.json',
      TRUSTED_PROXIES: '127.0.0.1,::1,::ffff:127.0.0.1',
      MAX_BODY_BYTES: 1_048_576,
      JSON_MAX_DEPTH: 32,
      MAX_HEADER_BYTES: 16_384,
      REDIS_PREFIX: '',
      AUTH_INTERNAL_URL: 'http://127.0.0.1:3001',
      REVOCATION_FIRST_LOAD_TIMEOUT_MS: 5000,
      REVOCATION_RELOAD_RETRY_MS: 2000,
      REVOCATION_RESYNC_INTERVAL_MS: 60_000,
    })
  })

  test('converts numeric settings from their string form', () => {
    const config = loadConfig(BaseConfig, { MAX_BODY_BYTES: '2048' })
    expect(config.MAX_BODY_BYTES).toBe(2048)
    expect(typeof config.MAX_BODY_BYTES).toBe('number')
  })

  test('takes given values over defaults', () => {
    const config = loadConfig(BaseConfig, { NODE_ENV: 'production', LOG_LEVEL: 'warn', DATABASE_URL: 'postgresql://app:pw@db:5432/chat' })
    expect(config).toMatchObject({ NODE_ENV: 'production', LOG_LEVEL: 'warn', DATABASE_URL: 'postgresql://app:pw@db:5432/chat', HOST: '127.0.0.1' })
  })

  test('treats an empty variable as unset', () => {
    expect(loadConfig(BaseConfig, { HOST: '', MAX_BODY_BYTES: '' })).toMatchObject({ HOST: '127.0.0.1', MAX_BODY_BYTES: 1_048_576 })
  })

  test('keeps an optional setting without default absent when unset', () => {
    expect(loadConfig(BaseConfig, {})).not.toHaveProperty('INTERNAL_TOKEN')
    const token = 'x'.repeat(32)
    expect(loadConfig(BaseConfig, { INTERNAL_TOKEN: token }).INTERNAL_TOKEN).toBe(token)
  })

  test('ignores variables the schema does not name', () => {
    expect(loadConfig(BaseConfig, { UNRELATED: 'value', PATH: '/bin' })).not.toHaveProperty('UNRELATED')
  })

  test('applies the defaults of a service schema that extends the base', () => {
    const Service = t.Composite([BaseConfig, t.Object({ PORT: t.Number({ default: 3001 }), RETRIES: t.Number({ minimum: 0, default: 3 }) })])
    expect(loadConfig(Service, { PORT: '4000' })).toMatchObject({ PORT: 4000, RETRIES: 3, HOST: '127.0.0.1' })
  })
})

/**
 * A bad setting ends the process, so these run `loadConfig` in a child `bun -e` with
 * exactly the given environment.
 */
async function loadInChild(env: Record<string, string>, schema = 'BaseConfig', prelude = '') {
  const script = `
    import { Type as t } from '@sinclair/typebox'
    import { BaseConfig, loadConfig } from ${JSON.stringify(CONFIG_MODULE)}
    ${prelude}
    loadConfig(${schema})
    console.log('loaded')`
  const child = Bun.spawn({
    cmd: [process.execPath, '-e', script],
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const [exitCode, stdout, stderr] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()])
  return { exitCode, stdout, stderr, lines: stderr.split('\n').filter((line) => line.trim() !== '') }
}

describe('the Redis settings', () => {
  test('REDIS_CLUSTER_NODES takes host:port seeds and redis:// URLs, and then wins over REDIS_URL', () => {
    const config = loadConfig(BaseConfig, { REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis://user:secret@10.0.0.2:7001' })
    const target = redisTarget(config)
    expect(target.kind).toBe('cluster')
    if (target.kind !== 'cluster') return
    expect(target.seeds.map((seed) => seed.host)).toEqual(['10.0.0.1:7000', '10.0.0.2:7001'])
    expect(target.topologyRefreshMs).toBe(1000)
    expect(describeRedisTarget(target)).toBe('cluster 10.0.0.1:7000,10.0.0.2:7001')
  })

  test('without REDIS_CLUSTER_NODES the one Redis at REDIS_URL is used', () => {
    expect(redisTarget(loadConfig(BaseConfig, { REDIS_URL: 'redis://cache:6380' }))).toEqual({ kind: 'single', url: 'redis://cache:6380' })
  })

  test('a seed without a port stops start-up naming REDIS_CLUSTER_NODES, and hides the seeds’ passwords', async () => {
    const result = await loadInChild({ REDIS_CLUSTER_NODES: 'redis://user:secret@10.0.0.1:7000,10.0.0.2' })
    expect(result.exitCode).toBe(1)
    expect(result.lines).toHaveLength(1)
    expect(result.lines[0]).toContain('REDIS_CLUSTER_NODES')
    expect(result.lines[0]).not.toContain('secret')
  })
})

describe('values printed in a config error', () => {
  test('lose the password of a URL, and are hidden whole when a password could sit outside a URL authority', () => {
    expect(withoutCredentials('smtp://user:s3cret@mail.example.com:587')).toBe('smtp://mail.example.com:587')
    for (const value of ['user:s3cret@mail.example.com:587', 'smtp:user:s3cret@mail.example.com', 'smtp:/user:s3cret@host']) {
      expect(withoutCredentials(value)).not.toContain('s3cret')
    }
    expect(withoutCredentials('http://localhost:3001')).toBe('http://localhost:3001')
    expect(withoutCredentials('verbose')).toBe('verbose')
  })
})

describe('loadConfig with a bad setting', () => {
  test('a good environment loads (the child harness itself works)', async () => {
    const result = await loadInChild({ MAX_BODY_BYTES: '4096' })
    expect(result).toMatchObject({ exitCode: 0, stdout: 'loaded\n', lines: [] })
  })

  test('a non-numeric value for a number stops with exit 1 and one line naming the variable and the value', async () => {
    const result = await loadInChild({ MAX_BODY_BYTES: 'lots' })
    expect(result.exitCode).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.lines).toHaveLength(1)
    expect(result.lines[0]).toContain('MAX_BODY_BYTES')
    expect(result.lines[0]).toContain('"lots"')
  })

  test('a number below its minimum names the variable', async () => {
    const result = await loadInChild({ MAX_BODY_BYTES: '10' })
    expect(result.exitCode).toBe(1)
    expect(result.lines).toHaveLength(1)
    expect(result.lines[0]).toContain('MAX_BODY_BYTES')
  })

  test('TRUSTED_PROXIES with an entry that is no IP address or CIDR range names the variable and the value', async () => {
    for (const value of ['caddy', '10.0.0.0/33']) {
      const result = await loadInChild({ TRUSTED_PROXIES: `127.0.0.1,${value}` })
      expect(result.exitCode).toBe(1)
      expect(result.lines).toHaveLength(1)
      expect(result.lines[0]).toContain(`TRUSTED_PROXIES is invalid`)
      expect(result.lines[0]).toContain(value)
    }
  })

  test('TRUSTED_PROXIES takes CIDR ranges beside addresses', async () => {
    const result = await loadInChild({ TRUSTED_PROXIES: '10.244.0.0/16, 127.0.0.1, fd00::/8' })
    expect(result).toMatchObject({ exitCode: 0, lines: [] })
  })

  test('a value outside its allowed list names the variable', async () => {
    const result = await loadInChild({ LOG_LEVEL: 'verbose' })
    expect(result.exitCode).toBe(1)
    expect(result.lines).toEqual([expect.stringContaining('LOG_LEVEL')])
  })

  test('several bad settings still give one line', async () => {
    const result = await loadInChild({ LOG_LEVEL: 'verbose', MAX_BODY_BYTES: 'lots', NODE_ENV: 'staging' })
    expect(result.exitCode).toBe(1)
    expect(result.lines).toHaveLength(1)
  })

  test('a missing required setting is named and said to be missing', async () => {
    const result = await loadInChild({}, 'Needed', "const Needed = t.Object({ SIGNING_REGION: t.String({ minLength: 1 }) })")
    expect(result.exitCode).toBe(1)
    expect(result.lines).toEqual([expect.stringContaining('SIGNING_REGION')])
    expect(result.lines[0]).toContain('missing')
  })

  test('the value of a secret-looking variable is never printed', async () => {
    const secret = 'hunter2-not-long-enough'
    const result = await loadInChild({ INTERNAL_TOKEN: secret })
    expect(result.exitCode).toBe(1)
    expect(result.lines).toEqual([expect.stringContaining('INTERNAL_TOKEN')])
    expect(result.stderr + result.stdout).not.toContain(secret)
    expect(result.stderr + result.stdout).not.toContain('hunter2')
  })

  test.each(['JWT_PRIVATE_KEY', 'API_SECRET', 'SMTP_PASSWORD'])('the value of %s is never printed', async (name) => {
    const result = await loadInChild({ [name]: 'tiny' }, 'Secrets', `const Secrets = t.Object({ ${name}: t.String({ minLength: 40 }) })`)
    expect(result.exitCode).toBe(1)
    expect(result.lines).toEqual([expect.stringContaining(name)])
    expect(result.stderr).not.toContain('tiny')
  })

  test('the user and password inside a bad connection URL are never printed, the rest is', async () => {
    const result = await loadInChild({ DATABASE_URL: 'mysql://app:s3cret-pw@db.internal:3306/chat' })
    expect(result.exitCode).toBe(1)
    expect(result.lines).toEqual([expect.stringContaining('DATABASE_URL')])
    expect(result.stderr).not.toContain('s3cret-pw')
    expect(result.stderr).not.toContain('app:')
    expect(result.lines[0]).toContain('"mysql://db.internal:3306/chat"')
  })

  test('a bad URL with only a password is printed without it', async () => {
    const result = await loadInChild({ REDIS_URL: 'http://:r3dis-pw@cache.internal:6379' })
    expect(result.exitCode).toBe(1)
    expect(result.lines).toEqual([expect.stringContaining('REDIS_URL')])
    expect(result.stderr).not.toContain('r3dis-pw')
  })

  test('no stack trace is printed', async () => {
    const result = await loadInChild({ MAX_BODY_BYTES: 'lots' })
    expect(result.stderr).not.toMatch(/^\s+at /m)
    expect(result.stderr).not.toContain('.ts:')
  })
})
