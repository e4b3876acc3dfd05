import { randomToken, readOrCreateDevSecret } from '@chat/common/dev-secrets'
import type { AuthConfig } from '../config'
import { deriveSecretKey } from './totp'

/** The key sealing TOTP secrets: from MFA_ENCRYPTION_KEY, or a generated dev value outside production. */
export function resolveMfaKey(config: Pick<AuthConfig, 'NODE_ENV' | 'MFA_ENCRYPTION_KEY'>): Buffer {
  if (config.MFA_ENCRYPTION_KEY) return deriveSecretKey(config.MFA_ENCRYPTION_KEY)
  if (config.NODE_ENV === 'production') {
    console.error('config: MFA_ENCRYPTION_KEY is required in production (at least 32 characters)')
    process.exit(1)
  }
  return deriveSecretKey(readOrCreateDevSecret('mfa-encryption-key', () => randomToken(32)))
}
