import { randomToken, readOrCreateDevSecret } from '@chat/common/dev-secrets'
import type { AuthConfig } from '../config'
import { deriveSecretKey } from './totp'

/**
 * The keys derived from MFA_ENCRYPTION_KEY (or a generated dev value outside production):
 * one seals TOTP secrets, the other the tokens of mails waiting in the outbox.
 */
export function resolveSealingKeys(config: Pick<AuthConfig, 'NODE_ENV' | 'MFA_ENCRYPTION_KEY'>): { mfaKey: Buffer; mailTokenKey: Buffer } {
  const setting = config.MFA_ENCRYPTION_KEY || devSetting(config)
  return { mfaKey: deriveSecretKey(setting), mailTokenKey: deriveSecretKey(setting, 'mail-token-at-rest') }
}

function devSetting(config: Pick<AuthConfig, 'NODE_ENV'>): string {
  if (config.NODE_ENV === 'production') {
    console.error('config: MFA_ENCRYPTION_KEY is required in production (at least 32 characters)')
    process.exit(1)
  }
  return readOrCreateDevSecret('mfa-encryption-key', () => randomToken(32))
}
