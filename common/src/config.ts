import { FormatRegistry, Type as t, type TObject, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { localServiceUrl, SERVICE_DEFAULTS } from './ports'
import { parseTrustedProxies } from './trusted-proxies'

/** One http(s) URL per instance of a peer service, comma-separated (common/src/internal.ts spreads calls over them). */
export const PEER_URLS_PATTERN = '^https?://[^,\\s]+(\\s*,\\s*https?://[^,\\s]+)*$'
/** Checked by the parser the HTTP layer uses, so a value that passes here works there. */
FormatRegistry.Set('trusted-proxies', (value) => parseTrustedProxies(value).ok)

/** One seed node of a Redis Cluster: `host:port`, or a redis:// or rediss:// URL with a port. */
const REDIS_SEED = '(rediss?://)?[^,\\s/]+:\\d+/?'

/**
 * Settings every service reads. Each service extends this with its own fields and
 * calls `loadConfig` once at start-up: a wrong setting stops the process with one line.
 */
export const BaseConfig = t.Object({
  NODE_ENV: t.Union([t.Literal('development'), t.Literal('production'), t.Literal('test')], {
    default: 'development',
  }),
  HOST: t.String({ default: '127.0.0.1' }),
  LOG_LEVEL: t.Union([t.Literal('debug'), t.Literal('info'), t.Literal('warn'), t.Literal('error')], {
    default: 'info',
  }),
  DATABASE_URL: t.String({ pattern: '^postgres(ql)?://', default: 'postgres://postgres@127.0.0.1:5432/postgres' }),
  /**
   * Postgres cancels any statement of a service's pool that runs longer (answered 503
   * DEPENDENCY_DOWN), so a lock held by a stuck transaction or a runaway query holds a
   * connection and its request this long at most, not for good. Work that may rightly take
   * longer (migrations, deleting a room, rebuilding search vectors) lifts it for itself.
   */
  DATABASE_STATEMENT_TIMEOUT_MS: t.Integer({ minimum: 100, default: 10_000 }),
  REDIS_URL: t.String({ pattern: '^rediss?://', default: 'redis://127.0.0.1:6379' }),
  /**
   * A Redis Cluster instead of REDIS_URL: some of its nodes (`host:port` or
   * `redis[s]://[user:password@]host:port`), comma-separated, from which the client reads
   * the slot map. Empty: one Redis at REDIS_URL.
   */
  REDIS_CLUSTER_NODES: t.String({ pattern: `^$|^${REDIS_SEED}(\\s*,\\s*${REDIS_SEED})*$`, default: '' }),
  /**
   * On a cluster, while a node cannot be reached the slot map is read again this often, so
   * the replica promoted after a master's crash is found soon after the promotion.
   */
  REDIS_CLUSTER_TOPOLOGY_REFRESH_MS: t.Integer({ minimum: 100, maximum: 60_000, default: 1000 }),
  /**
   * Put before every Redis key and pub/sub channel name, so stacks sharing one Redis never
   * see each other's data or events (pub/sub ignores DB numbers). Empty by default.
   */
  REDIS_PREFIX: t.String({ pattern: '^[A-Za-z0-9_.:-]{0,64}$', default: '' }),
  /** Public origin users reach through Caddy; the default WebSocket Origin allow-list. */
  PUBLIC_ORIGIN: t.String({ default: 'http://localhost:8080' }),
  JWT_ISSUER: t.String({ minLength: 1, default: 'http://localhost:8080/auth' }),
  JWT_AUDIENCE: t.String({ minLength: 1, default: 'chat-api' }),
  /**
   * Where verifiers fetch the auth service's public keys (once, then on an unknown `kid`):
   * the key set URL of every auth instance, comma-separated, tried in turn.
   */
  AUTH_JWKS_URL: t.String({ pattern: PEER_URLS_PATTERN, default: `${localServiceUrl('auth')}${SERVICE_DEFAULTS.auth.prefix}/.well-known/jwks.json` }),
  /** The auth service's internal base URL, one per instance, comma-separated: credentials (user) and the revocations in force (user, chat). */
  AUTH_INTERNAL_URL: t.String({ pattern: PEER_URLS_PATTERN, default: localServiceUrl('auth') }),
  /** Start-up waits this long for the first load of the revocations in force, then goes on with a warning. */
  REVOCATION_FIRST_LOAD_TIMEOUT_MS: t.Number({ minimum: 100, default: 5000 }),
  /** A failed load of the revocations in force is retried after this long, until one succeeds. */
  REVOCATION_RELOAD_RETRY_MS: t.Number({ minimum: 100, default: 2000 }),
  /**
   * The revocations in force are also reloaded this often, so one whose announcement never
   * arrived (auth cut off from Redis while this instance was not) is refused within this time.
   */
  REVOCATION_RESYNC_INTERVAL_MS: t.Number({ minimum: 1000, default: 60_000 }),
  /** Shared secret of the internal service-to-service routes; generated into .data/ in development. */
  INTERNAL_TOKEN: t.Optional(t.String({ minLength: 32 })),
  /**
   * Peers whose X-Forwarded-For is believed (Caddy). Comma-separated IPs or CIDR ranges: a
   * range where the proxy has no fixed address (Kubernetes' pod network; see
   * common/src/trusted-proxies.ts), exact addresses everywhere else.
   */
  TRUSTED_PROXIES: t.String({ format: 'trusted-proxies', default: '127.0.0.1,::1,::ffff:127.0.0.1' }),
  /** HTTP request bodies above this get 413 (the contract's 1 MiB). */
  MAX_BODY_BYTES: t.Number({ minimum: 1024, default: 1_048_576 }),
  /**
   * JSON request bodies nested deeper than this get 400 before they are parsed: parsing,
   * validating and describing a deeply nested value costs far more than its size suggests.
   */
  JSON_MAX_DEPTH: t.Integer({ minimum: 2, maximum: 1000, default: 32 }),
  /**
   * A request line plus headers above this gets 431. The service answers it, in the error
   * shape, rather than Bun's parser: the parser's bare 431 closes the connection while Caddy
   * may still be sending the body, and Caddy turns that into a 503 (see scripts/stack.ts).
   */
  MAX_HEADER_BYTES: t.Integer({ minimum: 1024, maximum: 262_144, default: 16_384 }),
})
export type BaseConfig = Static<typeof BaseConfig>

const SECRET_NAME = /TOKEN|KEY|SECRET|PASSWORD/

export function loadConfig<T extends TObject>(schema: T, env: Record<string, string | undefined> = process.env): Static<T> {
  const known = Object.fromEntries(
    Object.keys(schema.properties)
      .filter((key) => env[key] !== undefined && env[key] !== '')
      .map((key) => [key, env[key]]),
  )
  const value = Value.Convert(schema, Value.Default(schema, known))
  const firstError = Value.Errors(schema, value).First()
  if (firstError) {
    const name = firstError.path.replace(/^\//, '')
    const got =
      known[name] === undefined ? 'it is missing' : SECRET_NAME.test(name) ? 'value hidden' : `got ${JSON.stringify(withoutCredentials(known[name]))}`
    console.error(`config: ${name} is invalid: ${firstError.message} (${got})`)
    process.exit(1)
  }
  return value as Static<T>
}

/**
 * A connection URL carries its password whatever the variable is called: print it without
 * user name and password. Anything that is not a URL comes back as it is.
 */
export function withoutCredentials(value: string): string {
  // Converted already (a number): nothing to hide.
  if (typeof value !== 'string') return value
  // A list of URLs (REDIS_CLUSTER_NODES) is cleaned entry by entry.
  if (value.includes(',')) return value.split(',').map(withoutCredentials).join(',')
  // `user:secret@host` without `//` parses as a URL with no user name at all (the secret
  // lands in its path): anything with an `@` outside an authority is hidden whole.
  if (value.includes('@') && !/^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(value)) return '(hidden: it may hold a password)'
  if (!URL.canParse(value)) return value
  const url = new URL(value)
  if (url.username === '' && url.password === '') return value
  url.username = ''
  url.password = ''
  return url.href
}
