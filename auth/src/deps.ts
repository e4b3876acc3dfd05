import type { Sql } from '@chat/common/db'
import type { Logger } from '@chat/common/logger'
import type { Redis } from '@chat/common/redis'
import type { TokenVerifier } from '@chat/common/tokens'
import type { AuthConfig } from './config'
import type { AccessTokenSigner, SigningKey } from './keys/signing-key'
import type { Mailer } from './mail/worker'
import type { PasswordHasher } from './password/hashing'
import type { UsersClient } from './users-client'

/** Everything the auth features need, built once in index.ts and passed down explicitly. */
export type AuthDeps = {
  config: AuthConfig
  log: Logger
  sql: Sql
  redis: Redis
  key: SigningKey
  signAccessToken: AccessTokenSigner
  verifier: TokenVerifier
  hasher: PasswordHasher
  internalToken: string
  /** AES-256 key sealing TOTP secrets (from MFA_ENCRYPTION_KEY). */
  mfaKey: Buffer
  /** Seals the tokens of mails waiting in the outbox (mail/sealed-token.ts). */
  mailTokenKey: Buffer
  /** Wakes this instance's outbox worker after a transaction queued mail. */
  mailer: Mailer
  users: UsersClient
}
