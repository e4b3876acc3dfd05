import { describe, expect, test } from 'bun:test'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { TObject } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { AuthConfig } from '../auth/src/config'
import { UserConfig } from '../user/src/config'
import { BUN_HEADER_PARSER_FLAG, REPO_ROOT, SERVICES, SERVICE_NAMES, type ServiceName } from '../scripts/stack'

// compose.yaml and the Dockerfiles are checked against what the code reads, without Docker:
// a setting added to a config schema, a renamed variable or a new Caddyfile placeholder
// fails here instead of in a container.

type Environment = Record<string, string>
type ComposeService = {
  image?: string
  build?: string | { context?: string; dockerfile?: string; args?: Record<string, string> }
  environment?: Record<string, string | number | boolean | null> | string[]
  depends_on?: string[] | Record<string, { condition?: string }>
  healthcheck?: { test?: string | string[]; disable?: boolean }
  deploy?: { replicas?: number }
  ports?: (string | number | { target?: number; published?: string | number })[]
  volumes?: (string | { type?: string; source?: string; target?: string })[]
  networks?: string[] | Record<string, { ipv4_address?: string } | null>
  container_name?: string
}
type Compose = {
  name?: string
  services: Record<string, ComposeService>
  volumes?: Record<string, unknown>
  networks?: Record<string, { ipam?: { config?: { subnet?: string; ip_range?: string }[] } } | null>
}

const COMPOSE_TEXT = readFileSync(join(REPO_ROOT, 'compose.yaml'), 'utf8')
const COMPOSE_WITHOUT_COMMENTS = COMPOSE_TEXT.split('\n').filter((line) => !/^\s*#/.test(line)).join('\n')
const compose = Bun.YAML.parse(COMPOSE_TEXT) as Compose
const CADDYFILE = readFileSync(join(REPO_ROOT, 'Caddyfile'), 'utf8')
const WORKSPACES: string[] = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).workspaces

/** The same test common/src/config.ts uses to hide a value in its error line. */
const SECRET_NAME = /TOKEN|KEY|SECRET|PASSWORD/
/** Stands in for a required secret (`${X:?…}`): long enough for every minLength in the schemas. */
const SECRET_STAND_IN = 'x'.repeat(64)
/** Required variables whose value has a shape the schema checks get a stand-in of that shape. */
const SHAPED_STAND_INS: Record<string, string> = { SMTP_URL: 'smtp://user:stand-in@mail.example.com:587' }
const STORES: Record<string, { image: string; port: number }> = {
  postgres: { image: 'postgres:15', port: 5432 },
  redis: { image: 'redis:7', port: 6379 },
}
const PUBLIC_PORT = 8080
/** The one Dockerfile of the three services; its SERVICE build argument picks which. */
const SERVICE_DOCKERFILE = 'Dockerfile'
const CADDY_DOCKERFILE = 'caddy/Dockerfile'
const CADDY_IMAGE = 'caddy:2'
/** Settings whose values must be the same in every service, or tokens, revocations or proxies stop matching. */
const SHARED_SETTINGS = ['JWT_ISSUER', 'JWT_AUDIENCE', 'INTERNAL_TOKEN', 'REDIS_URL', 'REDIS_CLUSTER_NODES', 'TRUSTED_PROXIES', 'PUBLIC_ORIGIN']
/** The auth service verifies with its own key and never calls itself, so these stay unset there. */
const SELF_URLS: Partial<Record<ServiceName, string[]>> = { auth: ['AUTH_JWKS_URL', 'AUTH_INTERNAL_URL'] }
/** Addresses outside the compose network: the mail server, and the site as users reach it (what links in mails name). */
const OUTSIDE_URLS: Partial<Record<ServiceName, string[]>> = { auth: ['SMTP_URL', 'PUBLIC_URL'] }

const chatConfigFile = join(REPO_ROOT, 'chat', 'src', 'config.ts')
const SCHEMAS: Record<ServiceName, TObject | null> = {
  auth: AuthConfig,
  user: UserConfig,
  // Written later than the others: until it exists, chat's environment is only checked for secrets and URLs.
  chat: existsSync(chatConfigFile) ? configSchemaOf(await import(chatConfigFile)) : null,
}

function configSchemaOf(module: Record<string, unknown>): TObject {
  const schema =
    module.ChatConfig ??
    Object.entries(module).find(([name, value]) => name.endsWith('Config') && name !== 'BaseConfig' && isObjectSchema(value))?.[1]
  if (!isObjectSchema(schema)) throw new Error('chat/src/config.ts exports no TypeBox object schema named …Config')
  return schema
}

function isObjectSchema(value: unknown): value is TObject {
  return typeof value === 'object' && value !== null && typeof (value as TObject).properties === 'object'
}

function service(name: string): ComposeService {
  const found = compose.services[name]
  if (found === undefined) throw new Error(`compose.yaml has no service "${name}"`)
  return found
}

function environmentOf(name: string): Environment {
  const env = service(name).environment ?? {}
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((entry) => [entry.split('=')[0], entry.slice(entry.indexOf('=') + 1)]))
  }
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, value === null ? '' : String(value)]))
}

function dependenciesOf(name: string): Record<string, { condition?: string }> {
  const dependsOn = service(name).depends_on ?? {}
  return Array.isArray(dependsOn) ? Object.fromEntries(dependsOn.map((dep) => [dep, {}])) : dependsOn
}

const INTERPOLATION = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g

/** The value compose would pass, with a stand-in for each required variable. */
function interpolate(value: string): string {
  return value
    .split('$$')
    .map((part) =>
      part.replace(INTERPOLATION, (_, name: string, operator: string | undefined, rest: string) => (operator?.endsWith('-') ? rest : (SHAPED_STAND_INS[name] ?? SECRET_STAND_IN))),
    )
    .join('$')
}

/** What the service ends up with for `key`: the compose value as written (before interpolation), or else the schema's default. */
function effectiveValue(name: ServiceName, key: string): unknown {
  const env = environmentOf(name)
  if (key in env) return env[key]
  return (SCHEMAS[name]?.properties[key] as { default?: unknown } | undefined)?.default
}

/** Port a compose service listens on inside the network. */
function portOf(name: string): number | undefined {
  if (name in STORES) return STORES[name].port
  if (!(SERVICE_NAMES as readonly string[]).includes(name)) return undefined
  const port = environmentOf(name).PORT
  return port === undefined ? SERVICES[name as ServiceName].defaultPort : Number(port)
}

type Instruction = { keyword: string; args: string }

const serviceDockerfile = () => parseDockerfile(SERVICE_DOCKERFILE)

function parseDockerfile(path: string): Instruction[] {
  const text = readFileSync(join(REPO_ROOT, path), 'utf8')
  return text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [keyword, ...rest] = line.split(/\s+/)
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') }
    })
}

function argsOf(instructions: Instruction[], keyword: string): string[] {
  return instructions.filter((instruction) => instruction.keyword === keyword).map((instruction) => instruction.args)
}

function hasHealthCheck(name: string): boolean {
  const healthcheck = service(name).healthcheck
  if (healthcheck?.disable) return false
  if (healthcheck?.test !== undefined && healthcheck.test.length > 0) return true
  const built = (SERVICE_NAMES as readonly string[]).includes(name)
  return built && argsOf(serviceDockerfile(), 'HEALTHCHECK').some((args) => !/^NONE\b/i.test(args))
}

function ipv4ToNumber(ip: string): number {
  return ip.split('.').reduce((total, octet) => total * 256 + Number(octet), 0)
}

function inSubnet(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/')
  const size = 2 ** (32 - Number(bits))
  const start = Math.floor(ipv4ToNumber(base) / size) * size
  return ipv4ToNumber(ip) >= start && ipv4ToNumber(ip) < start + size
}

describe('compose.yaml services', () => {
  test('every service folder runs as a compose service built from the one service Dockerfile, with SERVICE set to its name', () => {
    for (const name of SERVICE_NAMES) {
      expect(service(name).build).toEqual({ context: '.', args: { SERVICE: name } })
      expect(existsSync(join(REPO_ROOT, name, 'Dockerfile'))).toBe(false)
    }
    expect(existsSync(join(REPO_ROOT, SERVICE_DOCKERFILE))).toBe(true)
  })

  test('chat runs as two replicas, with nothing that two containers could not share', () => {
    expect(service('chat').deploy?.replicas).toBe(2)
    expect(service('chat').container_name).toBeUndefined()
    expect(service('chat').ports).toBeUndefined()
  })

  test('Postgres and Redis run from their official images, Caddy from one built on the official image, all with health checks', () => {
    for (const [name, { image }] of Object.entries(STORES)) expect(service(name).image).toBe(image)
    expect(service('caddy').build).toEqual({ context: '.', dockerfile: CADDY_DOCKERFILE })
    expect(argsOf(parseDockerfile(CADDY_DOCKERFILE), 'FROM').at(-1)).toBe(CADDY_IMAGE)
    for (const name of [...Object.keys(STORES), 'caddy']) expect(hasHealthCheck(name)).toBe(true)
  })

  test('each service starts only once everything it needs is healthy', () => {
    const needs: Record<string, string[]> = {
      auth: ['postgres', 'redis'],
      // Verifiers fetch auth's public keys at start-up.
      user: ['postgres', 'redis', 'auth'],
      chat: ['postgres', 'redis', 'auth'],
      caddy: [...SERVICE_NAMES],
    }
    for (const [name, required] of Object.entries(needs)) {
      expect(Object.keys(dependenciesOf(name)).sort()).toEqual([...required].sort())
    }
    for (const name of Object.keys(compose.services)) {
      for (const [dependency, { condition }] of Object.entries(dependenciesOf(name))) {
        expect({ name, dependency, condition }).toEqual({ name, dependency, condition: 'service_healthy' })
        expect({ dependency, healthCheck: hasHealthCheck(dependency) }).toEqual({ dependency, healthCheck: true })
      }
    }
  })

  test('Postgres, Redis and Caddy keep their data in declared named volumes', () => {
    const mounts: Record<string, string[]> = { postgres: ['/var/lib/postgresql/data'], redis: ['/data'], caddy: ['/data', '/config'] }
    for (const [name, targets] of Object.entries(mounts)) {
      const volumes = (service(name).volumes ?? []).map((volume) => (typeof volume === 'string' ? volume : `${volume.source}:${volume.target}`))
      for (const target of targets) {
        const mount = volumes.find((volume) => volume.split(':')[1] === target)
        expect({ name, target, mount }).toEqual({ name, target, mount: expect.any(String) })
        const source = mount!.split(':')[0]
        expect({ name, source, declared: compose.volumes !== undefined && source in compose.volumes }).toEqual({ name, source, declared: true })
      }
    }
  })

  test(`only Caddy is published, on port ${PUBLIC_PORT}`, () => {
    for (const [name, definition] of Object.entries(compose.services)) {
      if (name !== 'caddy') expect({ name, ports: definition.ports }).toEqual({ name, ports: undefined })
    }
    const ports = (service('caddy').ports ?? []).map(String)
    expect(ports).toContain(`${PUBLIC_PORT}:${environmentOf('caddy').HTTP_PORT}`)
  })
})

describe('compose.yaml environment of each service', () => {
  for (const name of SERVICE_NAMES) {
    const schema = SCHEMAS[name]
    const missing = schema === null

    test.skipIf(missing)(`${name}: every setting the schema cannot default is set, secrets included`, () => {
      const env = environmentOf(name)
      // Secrets are optional in the schema only because development generates them; production needs them.
      const needed = Object.entries(schema!.properties)
        .filter(([key, property]) => (property as { default?: unknown }).default === undefined && (schema!.required?.includes(key) || SECRET_NAME.test(key)))
        .map(([key]) => key)
      expect(needed.filter((key) => !(key in env))).toEqual([])
    })

    test.skipIf(missing)(`${name}: every variable set is one the service reads`, () => {
      expect(Object.keys(environmentOf(name)).filter((key) => !(key in schema!.properties))).toEqual([])
    })

    test.skipIf(missing)(`${name}: the interpolated environment passes the config schema, in production mode`, () => {
      const env = environmentOf(name)
      const known = Object.fromEntries(Object.entries(env).map(([key, value]) => [key, interpolate(value)]).filter(([, value]) => value !== ''))
      const value = Value.Convert(schema!, Value.Default(schema!, known))
      expect([...Value.Errors(schema!, value)].map((error) => `${error.path}: ${error.message}`)).toEqual([])
      expect(env.NODE_ENV).toBe('production')
      expect(env.HOST).toBe('0.0.0.0')
    })

    test(`${name}: every *_URL it reads points at a compose service and its port, not at the loopback default`, () => {
      const keys = new Set([...Object.keys(environmentOf(name)), ...Object.keys(schema?.properties ?? {})])
      // An optional URL without a default that compose leaves unset turns a feature off
      // (DATABASE_REPLICA_URL): there is no loopback default to get wrong.
      const featureOff = (key: string) =>
        !(key in environmentOf(name)) && schema !== null && !schema.required?.includes(key) && (schema.properties[key] as { default?: unknown })?.default === undefined
      const urls = [...keys].filter((key) => key.endsWith('_URL') && ![...(SELF_URLS[name] ?? []), ...(OUTSIDE_URLS[name] ?? [])].includes(key) && !featureOff(key))
      // Without a schema (chat, for now) the ones every service reads must still be there.
      if (schema === null) urls.push('DATABASE_URL', 'REDIS_URL')
      for (const key of new Set(urls)) {
        const raw = environmentOf(name)[key]
        expect({ key, set: raw !== undefined }).toEqual({ key, set: true })
        const url = new URL(interpolate(raw))
        const port = Number(url.port) || undefined
        expect({ key, host: url.hostname, port, known: url.hostname in compose.services }).toEqual({
          key,
          host: url.hostname,
          port: portOf(url.hostname),
          known: true,
        })
      }
      const jwks = environmentOf(name).AUTH_JWKS_URL
      if (jwks !== undefined) expect(new URL(jwks).pathname).toBe(`${SERVICES.auth.prefix}/.well-known/jwks.json`)
    })

    test.skipIf(missing)(`${name}: listens on its default port from common/src/ports.ts, which compose does not override`, () => {
      expect(environmentOf(name).PORT).toBeUndefined()
      expect((schema!.properties.PORT as { default?: unknown }).default).toBe(SERVICES[name].defaultPort)
    })
  }

  test('settings that must agree across services have one value everywhere', () => {
    for (const key of SHARED_SETTINGS) {
      const values = new Set(SERVICE_NAMES.filter((name) => SCHEMAS[name] !== null || key in environmentOf(name)).map((name) => effectiveValue(name, key)))
      expect({ key, values: [...values] }).toEqual({ key, values: [expect.anything()] })
    }
  })

  test('Postgres and Redis are on an internal network of their own, which the services join and Caddy does not', () => {
    const networksOf = (name: string) => {
      const networks = service(name).networks
      return Array.isArray(networks) ? networks : Object.keys(networks ?? { default: null })
    }
    expect((compose.networks?.stores as { internal?: boolean } | null)?.internal).toBe(true)
    expect([networksOf('postgres'), networksOf('redis')]).toEqual([['stores'], ['stores']])
    for (const name of SERVICE_NAMES) expect({ name, networks: networksOf(name).sort() }).toEqual({ name, networks: ['default', 'stores'] })
    expect(networksOf('caddy')).toEqual(['default'])
  })

  test("every service trusts Caddy's fixed address, which no other container can be given", () => {
    const caddyNetworks = service('caddy').networks as Record<string, { ipv4_address?: string } | null>
    const caddyIp = caddyNetworks?.default?.ipv4_address
    expect(caddyIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/)
    const pool = compose.networks?.default?.ipam?.config?.[0]
    expect(pool?.subnet).toBeDefined()
    expect(inSubnet(caddyIp!, pool!.subnet!)).toBe(true)
    // Dynamic addresses come from ip_range only; Caddy's must lie outside it.
    expect(pool?.ip_range === undefined ? false : !inSubnet(caddyIp!, pool.ip_range)).toBe(true)
    for (const name of SERVICE_NAMES) {
      const trusted = String(effectiveValue(name, 'TRUSTED_PROXIES')).split(',').map((ip) => ip.trim())
      expect({ name, trusted }).toEqual({ name, trusted: expect.arrayContaining([caddyIp]) })
    }
  })
})

describe('compose.yaml Caddy', () => {
  const placeholders = [...new Set([...CADDYFILE.matchAll(/\{\$([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}/g)].map((match) => match[1]))].sort()

  test('receives exactly the {$VARIABLES} the Caddyfile reads', () => {
    expect(placeholders.length).toBeGreaterThan(0)
    expect(Object.keys(environmentOf('caddy')).sort()).toEqual(placeholders)
  })

  test('proxies each prefix to its service by compose name and port', () => {
    for (const name of SERVICE_NAMES) {
      const variable = `${name.toUpperCase()}_UPSTREAMS`
      const upstreams = (environmentOf('caddy')[variable] ?? '').split(/\s+/).filter(Boolean)
      expect({ variable, count: upstreams.length > 0 }).toEqual({ variable, count: true })
      for (const upstream of upstreams) {
        const [host, port] = upstream.split(':')
        // The service name (Docker's DNS answers with every replica), or one replica's container name.
        const replica = new RegExp(`^${compose.name ?? '[\\w-]+'}-${name}-\\d+$`)
        expect({ upstream, host: host === name || replica.test(host), port: Number(port) }).toEqual({ upstream, host: true, port: portOf(name)! })
      }
    }
  })

  test("mounts the repository's Caddyfile where the image reads it, and the image holds a copy", () => {
    expect(service('caddy').volumes).toContain('./Caddyfile:/etc/caddy/Caddyfile:ro')
    expect(argsOf(parseDockerfile(CADDY_DOCKERFILE), 'COPY')).toContain('Caddyfile /etc/caddy/Caddyfile')
  })
})

describe('caddy/Dockerfile', () => {
  const instructions = parseDockerfile(CADDY_DOCKERFILE)
  const stages = instructions.reduce<Instruction[][]>((all, instruction) => {
    if (instruction.keyword === 'FROM') all.push([])
    all.at(-1)!.push(instruction)
    return all
  }, [])
  const [build, final] = [stages[0], stages.at(-1)!]

  test('builds the web files with the same function and Bun image as the rest, then keeps only the files', () => {
    expect(stages).toHaveLength(2)
    const serviceBase = argsOf(serviceDockerfile(), 'FROM')[0].split(/\s+/)[0]
    expect(build[0].args).toMatch(new RegExp(`^${serviceBase.replace(/[.]/g, '\\.')}\\s+AS\\s+\\w+$`, 'i'))
    expect(argsOf(build, 'RUN').some((args) => args.includes('buildWebRoot('))).toBe(true)
  })

  test('installs the build tools from the frozen workspace lockfile, with every workspace manifest', () => {
    const install = build.findIndex(({ keyword, args }) => keyword === 'RUN' && args.includes('bun install --frozen-lockfile'))
    expect(install).toBeGreaterThan(-1)
    const copiedBefore = argsOf(build.slice(0, install), 'COPY').join(' ')
    for (const file of ['package.json', 'bun.lock', ...WORKSPACES.map((workspace) => `${workspace}/package.json`)]) {
      expect({ file, copied: new RegExp(`(^|\\s)${file.replace('.', '\\.')}(\\s|$)`).test(copiedBefore) }).toEqual({ file, copied: true })
    }
  })

  test('copies what the build reads, and serves the result from WEB_ROOT as compose sets it', () => {
    const copied = argsOf(build, 'COPY').map((args) => args.split(/\s+/)[0])
    for (const source of ['scripts', 'web', 'docs', 'tsconfig.json']) expect(copied).toContain(source)
    const webRoot = environmentOf('caddy').WEB_ROOT
    expect(webRoot).toMatch(/^\//)
    expect(argsOf(final, 'COPY').some((args) => new RegExp(`^--from=\\w+ \\S+ ${webRoot}$`).test(args))).toBe(true)
    expect(argsOf(final, 'ENV')).toContain(`WEB_ROOT=${webRoot}`)
  })

  test('has a context filter of its own that lets scripts/ in and keeps local state and secrets out', () => {
    const ignored = readFileSync(join(REPO_ROOT, `${CADDY_DOCKERFILE}.dockerignore`), 'utf8').split('\n').map((line) => line.trim())
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', '.data', '.git', '.env', 'web/dist']))
    expect(ignored).not.toContain('scripts')
  })
})

describe('compose.yaml secrets', () => {
  test('every secret is a required variable (${NAME:?…}), never a value', () => {
    for (const name of Object.keys(compose.services)) {
      for (const [key, value] of Object.entries(environmentOf(name))) {
        if (!SECRET_NAME.test(key)) continue
        expect({ name, key, value }).toEqual({ name, key, value: expect.stringMatching(new RegExp(`^\\$\\{${key}:\\?[^}]+\\}$`)) })
      }
    }
  })

  test('no URL carries a literal password and no key material is in the file', () => {
    for (const name of Object.keys(compose.services)) {
      for (const [key, value] of Object.entries(environmentOf(name))) {
        const password = /^[a-z]+:\/\/[^:/@]*:([^@]*)@/.exec(value)?.[1]
        if (password !== undefined) expect({ name, key, password }).toEqual({ name, key, password: expect.stringMatching(/^\$\{[A-Z0-9_]+:\?[^}]+\}$/) })
      }
    }
    expect(COMPOSE_TEXT).not.toContain('-----BEGIN')
  })

  test('every interpolated variable has a default or stops compose when missing', () => {
    const text = COMPOSE_WITHOUT_COMMENTS.replaceAll('$$', '')
    for (const [, variable, operator] of text.matchAll(INTERPOLATION)) {
      expect({ variable, operator }).toEqual({ variable, operator: expect.stringMatching(/^:[-?]$/) })
    }
    expect(text.replace(INTERPOLATION, '')).not.toMatch(/\$[A-Za-z_{]/)
  })
})

describe('the service Dockerfile', () => {
  const instructions = serviceDockerfile()
  const finalStage = instructions.slice(instructions.findLastIndex(({ keyword }) => keyword === 'FROM'))

  test('builds every stage on one slim Bun image', () => {
    const bases = new Set(argsOf(instructions, 'FROM').map((args) => args.split(/\s+/)[0]))
    expect([...bases]).toHaveLength(1)
    expect([...bases][0]).toMatch(/^oven\/bun:\d+\.\d+\.\d+-(slim|alpine)$/)
  })

  test('installs production dependencies from the frozen workspace lockfile', () => {
    const install = instructions.findIndex(({ keyword, args }) => keyword === 'RUN' && args.includes('bun install --frozen-lockfile --production'))
    expect(install).toBeGreaterThan(-1)
    const copiedBefore = instructions.slice(0, install).filter(({ keyword }) => keyword === 'COPY').map(({ args }) => args).join(' ')
    for (const file of ['package.json', 'bun.lock', ...WORKSPACES.map((workspace) => `${workspace}/package.json`)]) {
      expect({ file, copied: new RegExp(`(^|\\s)${file.replace('.', '\\.')}(\\s|$)`).test(copiedBefore) }).toEqual({ file, copied: true })
    }
  })

  test('refuses to build unless SERVICE names a service, before it copies the folder SERVICE names', () => {
    const guard = finalStage.findIndex(({ keyword, args }) => keyword === 'RUN' && args.includes('$SERVICE') && args.includes('exit 1'))
    expect(guard).toBeGreaterThan(-1)
    expect(finalStage[guard].args).toContain(`${SERVICE_NAMES.join('|')})`)
    expect(finalStage.findIndex(({ keyword, args }) => keyword === 'COPY' && args === '${SERVICE} ${SERVICE}')).toBeGreaterThan(guard)
  })

  test('ships common/, the service folder and the tsconfig that maps @chat/common', () => {
    const copies = argsOf(finalStage, 'COPY')
    expect(copies).toContain('common common')
    expect(copies).toContain('${SERVICE} ${SERVICE}')
    expect(copies.some((args) => args.split(/\s+/).includes('tsconfig.json'))).toBe(true)
  })

  test('runs as a non-root user', () => {
    const user = argsOf(instructions, 'USER').at(-1)
    expect(user).toBeDefined()
    expect(user).not.toMatch(/^(root|0)(:|$)/)
  })

  test('has a HEALTHCHECK that needs no curl and finds the service in common/src/ports.ts', () => {
    const [healthcheck] = argsOf(instructions, 'HEALTHCHECK')
    expect(healthcheck).toContain('CMD ["bun", "common/src/healthcheck.ts"]')
  })

  test('starts <SERVICE>/src/index.ts as PID 1 in production mode, listening on every interface', () => {
    const command = JSON.parse(argsOf(instructions, 'CMD').at(-1)!) as string[]
    expect(command).toEqual(['sh', '-c', `exec bun ${BUN_HEADER_PARSER_FLAG} run "$SERVICE/src/index.ts"`])
    for (const name of SERVICE_NAMES) expect(existsSync(join(REPO_ROOT, SERVICES[name].entry))).toBe(true)
    const env = argsOf(finalStage, 'ENV').join(' ')
    expect(env).toContain('NODE_ENV=production')
    expect(env).toContain('HOST=0.0.0.0')
    expect(env).toContain('SERVICE=${SERVICE}')
    expect(env).not.toMatch(SECRET_NAME)
  })

  test('.dockerignore keeps local state, dependencies and secrets out of the build context', () => {
    const ignored = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n').map((line) => line.trim())
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', '.data', 'test-artifacts', '.git', '.env']))
  })
})

describe('the container health check', () => {
  // Asynchronous: the server answering the probe runs in this process.
  const probe = (env: Record<string, string>) =>
    Bun.spawn({ cmd: [process.execPath, join(REPO_ROOT, 'common/src/healthcheck.ts')], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stderr: 'ignore' }).exited

  test('passes when the service answers its /health, and fails when nothing does or SERVICE is unknown', async () => {
    const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: (request) => new Response(null, { status: new URL(request.url).pathname === '/users/health' ? 200 : 404 }) })
    try {
      expect(await probe({ SERVICE: 'user', PORT: String(server.port) })).toBe(0)
      expect(await probe({ SERVICE: 'auth', PORT: String(server.port) })).toBe(1)
      expect(await probe({ SERVICE: 'nope', PORT: String(server.port) })).toBe(1)
    } finally {
      server.stop(true)
    }
  })
})

describe('config modules', () => {
  test('importing a config module only declares schemas: it reads, validates and starts nothing', () => {
    const modules = SERVICE_NAMES.map((name) => join(REPO_ROOT, name, 'src', 'config.ts')).filter(existsSync)
    // Production with an invalid PORT and no secrets: any validation or boot at import would exit non-zero.
    const result = Bun.spawnSync({
      cmd: [process.execPath, '-e', `for (const m of ${JSON.stringify(modules)}) await import(m)`],
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_ENV: 'production', PORT: 'not-a-port', DATABASE_URL: 'nope' },
      timeout: 10_000,
    })
    expect({ exitCode: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() }).toEqual({ exitCode: 0, stdout: '', stderr: '' })
  })
})
