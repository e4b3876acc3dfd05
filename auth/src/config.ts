import { t } from 'elysia'
import { BaseConfig, loadConfig } from '@chat/common/config'
import { SERVICE_DEFAULTS } from '@chat/common/ports'

export const AuthConfig = t.Composite([
  BaseConfig,
  t.Object({
    PORT: t.Number({ default: SERVICE_DEFAULTS.auth.port }),
    /** PKCS#8 PEM of the Ed25519 signing key. Required in production; generated into .data/ in development. */
    JWT_PRIVATE_KEY: t.Optional(t.String({ minLength: 40 })),
    ACCESS_TOKEN_TTL_SECONDS: t.Number({ minimum: 2, maximum: 86_400, default: 900 }),
    /** Fixed maximum life of a session, however often it is refreshed. */
    SESSION_MAX_AGE_DAYS: t.Number({ minimum: 1, maximum: 365, default: 30 }),
    /** After a rotation, the spent refresh token returns the same new pair for this long (tabs, retries). */
    REFRESH_REUSE_GRACE_SECONDS: t.Number({ minimum: 0, maximum: 60, default: 5 }),
    LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_IP: t.Number({ minimum: 1, default: 10 }),
    LOGIN_MAX_FAILURES_PER_IP: t.Number({ minimum: 1, default: 100 }),
    LOGIN_FAILURE_WINDOW_SECONDS: t.Number({ minimum: 1, default: 900 }),
    /** argon2id cost, OWASP's first recommended set: m = 19 MiB, t = 2, p = 1. */
    ARGON2_MEMORY_KIB: t.Number({ minimum: 8192, default: 19_456 }),
    ARGON2_TIME_COST: t.Number({ minimum: 1, default: 2 }),
  }),
])
export type AuthConfig = typeof AuthConfig.static

export const loadAuthConfig = () => loadConfig(AuthConfig)
