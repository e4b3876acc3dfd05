import { t } from 'elysia'
import { BaseConfig, loadConfig, PEER_URLS_PATTERN } from '@chat/common/config'
import { localServiceUrl, SERVICE_DEFAULTS } from '@chat/common/ports'

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
    /**
     * Logins from one client IP per minute, right or wrong: each costs an argon2id check
     * (about 20 MiB and tens of ms of CPU), so one account's right password must not buy
     * an unlimited number of them.
     */
    LOGIN_MAX_PER_IP_PER_MINUTE: t.Number({ minimum: 1, default: 120 }),
    /** Wrong current passwords (password change, account deletion) per user before those calls answer 429; separate from login's limits. */
    REAUTH_MAX_FAILURES: t.Number({ minimum: 1, default: 10 }),
    REAUTH_FAILURE_WINDOW_SECONDS: t.Number({ minimum: 1, default: 900 }),
    /** Password confirmations per user per minute, right or wrong: each is an argon2id check (see reauthentication.ts). */
    REAUTH_MAX_CHECKS_PER_MINUTE: t.Number({ minimum: 1, default: 10 }),
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
    /**
     * Wrong login codes mean the password is known to whoever typed them: the owner is mailed
     * when a user's wrong codes in a window of this many seconds reach MFA_MAX_CODE_FAILURES
     * (whichever mfaTokens they came with), so at most once per window.
     */
    MFA_WRONG_CODES_NOTICE_INTERVAL_SECONDS: t.Number({ minimum: 1, default: 3600 }),
    /** Wrong two-factor codes from one client IP, across accounts, per LOGIN_FAILURE_WINDOW_SECONDS before that IP's codes answer 429. */
    MFA_MAX_FAILURES_PER_IP: t.Number({ minimum: 1, default: 100 }),
    /** The user service's internal base URL, one per instance, comma-separated: it shows `emailVerified`. */
    USER_INTERNAL_URL: t.String({ pattern: PEER_URLS_PATTERN, default: localServiceUrl('user') }),
    /**
     * Where mail goes, e.g. `smtp://user:pass@mail.example.com:587` or `smtps://…:465`.
     * Unset (development): each mail is written as an .eml file under MAIL_DIR instead.
     */
    SMTP_URL: t.Optional(t.String({ pattern: '^smtps?://' })),
    MAIL_FROM: t.String({ minLength: 3, default: 'Chat <no-reply@localhost>' }),
    /** Where links in mails point: the site's public address, as users reach it through Caddy. */
    PUBLIC_URL: t.String({ pattern: '^https?://[^\\s]+$', default: 'http://localhost:8080' }),
    /** Folder of the .eml files written when SMTP_URL is unset; default `.data/mail`. */
    MAIL_DIR: t.Optional(t.String({ minLength: 1 })),
    /** How often each instance looks for mail that is due (new mail also wakes it at once). */
    MAIL_POLL_INTERVAL_MS: t.Number({ minimum: 50, default: 1000 }),
    /** Mails claimed per round; they are sent concurrently. */
    MAIL_BATCH_SIZE: t.Number({ minimum: 1, maximum: 100, default: 10 }),
    /** Connection, greeting and idle-socket timeout of one SMTP delivery. */
    MAIL_SEND_TIMEOUT_MS: t.Number({ minimum: 100, default: 15_000 }),
    /**
     * A claimed mail belongs to the instance sending it for this long; only after it (the
     * instance died mid-send) may another send it. Must well exceed a delivery's timeouts.
     */
    MAIL_CLAIM_SECONDS: t.Number({ minimum: 1, default: 120 }),
    /** First retry after this long, then doubling (with jitter) up to MAIL_RETRY_MAX_MS. */
    MAIL_RETRY_BASE_MS: t.Number({ minimum: 10, default: 2000 }),
    MAIL_RETRY_MAX_MS: t.Number({ minimum: 10, default: 900_000 }),
    /** Deliveries tried before a mail is given up: about a day with the defaults, the life of a verification link. */
    MAIL_MAX_ATTEMPTS: t.Number({ minimum: 1, default: 120 }),
    /** Life of an email-verification link. */
    VERIFY_EMAIL_TOKEN_TTL_SECONDS: t.Number({ minimum: 1, default: 86_400 }),
    /** Verification mails a signed-in user may ask again for, per window. */
    VERIFY_RESEND_MAX_PER_USER: t.Number({ minimum: 1, default: 5 }),
    VERIFY_RESEND_WINDOW_SECONDS: t.Number({ minimum: 1, default: 3600 }),
    /** Life of a password-reset link. */
    RESET_PASSWORD_TOKEN_TTL_SECONDS: t.Number({ minimum: 1, default: 1800 }),
    /** Reset mails per address per window; further requests are answered the same and send nothing. */
    FORGOT_MAX_PER_ADDRESS: t.Number({ minimum: 1, default: 3 }),
    FORGOT_ADDRESS_WINDOW_SECONDS: t.Number({ minimum: 1, default: 3600 }),
    /**
     * Wrong mailed tokens (verification and reset links share the count) per client IP per
     * window; more answer 429. The tokens are 256-bit random: this stops probing, not guessing.
     */
    MAILED_TOKEN_MAX_FAILURES_PER_IP: t.Number({ minimum: 1, default: 30 }),
    MAILED_TOKEN_FAILURE_WINDOW_SECONDS: t.Number({ minimum: 1, default: 3600 }),
    /** Reset requests per client IP per window, whatever the address; more answer 429. */
    FORGOT_MAX_PER_IP: t.Number({ minimum: 1, default: 20 }),
    FORGOT_IP_WINDOW_SECONDS: t.Number({ minimum: 1, default: 3600 }),
  }),
])
export type AuthConfig = typeof AuthConfig.static

/** Settings that are valid one by one but not together stop the start-up too, with one line. */
export function loadAuthConfig(env: Record<string, string | undefined> = process.env): AuthConfig {
  const config = loadConfig(AuthConfig, env)
  const problem = findConfigProblem(config)
  if (problem !== null) {
    console.error(`config: ${problem}`)
    process.exit(1)
  }
  return config
}

export function findConfigProblem(config: AuthConfig): string | null {
  // Production without a mail server would write mails into the container, where nobody reads them.
  if (config.NODE_ENV === 'production' && config.SMTP_URL === undefined) return 'SMTP_URL is required in production (e.g. smtp://user:password@mail.example.com:587)'
  // A delivery can take a connection, a greeting and idle waits each up to the timeout: the claim must outlast that.
  if (config.MAIL_CLAIM_SECONDS * 1000 < 4 * config.MAIL_SEND_TIMEOUT_MS) return 'MAIL_CLAIM_SECONDS must be at least 4 × MAIL_SEND_TIMEOUT_MS, or a slow delivery could be claimed and sent again by another instance'
  if (config.MAIL_RETRY_MAX_MS < config.MAIL_RETRY_BASE_MS) return 'MAIL_RETRY_MAX_MS must not be below MAIL_RETRY_BASE_MS'
  return null
}
