/**
 * Each service's default listen port, the path prefix Caddy routes to it and the Postgres
 * schema it owns (and migrates): the one place these are written. Config defaults, the dev
 * and test stacks, the container health check, the migration entry point and
 * test/compose.test.ts (which holds compose.yaml to them) all read them from here.
 */
export const SERVICE_DEFAULTS = {
  auth: { port: 3001, prefix: '/auth', schema: 'auth' },
  user: { port: 3002, prefix: '/users', schema: 'users' },
  chat: { port: 3003, prefix: '/chat', schema: 'chat' },
} as const

export type ServiceName = keyof typeof SERVICE_DEFAULTS

/** A service's single local instance, as development reaches it without Caddy. */
export function localServiceUrl(service: ServiceName): string {
  return `http://127.0.0.1:${SERVICE_DEFAULTS[service].port}`
}
