import type { Sql } from '@chat/common/db'
import type { Logger } from '@chat/common/logger'
import type { Redis } from '@chat/common/redis'
import type { TokenVerifier } from '@chat/common/tokens'
import type { AuthClient } from './auth-client'
import type { UserConfig } from './config'

export type UserDeps = {
  config: UserConfig
  log: Logger
  sql: Sql
  redis: Redis
  verifier: TokenVerifier
  auth: AuthClient
  /** Shared secret of the internal routes other services call. */
  internalToken: string
}
