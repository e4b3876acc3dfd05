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
    /** Wrong current passwords (password change, account deletion) per user before those calls answer 429; separate from login's limits. */
    REAUTH_MAX_FAILURES: t.Number({ minimum: 1, default: 10 }),
    REAUTH_FAILURE_WINDOW_SECONDS: t.Number({ minimum: 1, default: 900 }),
    /** Active sessions per user; opening one more revokes the oldest. */
    MAX_SESSIONS_PER_USER: t.Number({ minimum: 1, default: 50 }),
    /** How often each instance deletes ended sessions, old spent refresh tokens and expired revocations. */
    CLEANUP_INTERVAL_SECONDS: t.Number({ minimum: 1, default: 3600 }),
    /** Rows per delete statement of the cleanup, so it never holds many locks at once. */
    CLEANUP_BATCH_SIZE: t.Number({ minimum: 1, default: 1000 }),
    /**
     * Spent refresh tokens of live sessions are kept this long to recognise reuse (which
     * revokes the session); an older spent token is then only answered as invalid.
     */
    SPENT_REFRESH_TOKEN_RETENTION_HOURS: t.Number({ minimum: 1, default: 168 }),
    /** argon2id cost, OWASP's first recommended set: m = 19 MiB, t = 2, p = 1. */
    ARGON2_MEMORY_KIB: t.Number({ minimum: 8192, default: 19_456 }),
    ARGON2_TIME_COST: t.Number({ minimum: 1, default: 2 }),
    /** Encrypts TOTP secrets at rest (AES-256-GCM, key derived with HKDF). Required in production; generated into .data/ in development. */
    MFA_ENCRYPTION_KEY: t.Optional(t.String({ minLength: 32 })),
    /** The issuer authenticator apps show beside the account name. */
    MFA_ISSUER: t.String({ minLength: 1, maxLength: 64, default: 'Chat' }),
    /** How long the mfaToken of a login waits for its code. */
    MFA_TOKEN_TTL_SECONDS: t.Number({ minimum: 30, maximum: 3600, default: 300 }),
    /** Codes tried with one mfaToken before it is spent. */
    MFA_MAX_CODE_FAILURES: t.Number({ minimum: 1, maximum: 20, default: 5 }),
    /** Wrong two-factor codes from one client IP, across accounts, per LOGIN_FAILURE_WINDOW_SECONDS before that IP's codes answer 429. */
    MFA_MAX_FAILURES_PER_IP: t.Number({ minimum: 1, default: 100 }),
  }),
])
export type AuthConfig = typeof AuthConfig.static

export const loadAuthConfig = () => loadConfig(AuthConfig)
