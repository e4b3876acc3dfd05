import { openSecret, sealSecret } from '../mfa/totp'

/**
 * A mailed link's token as it waits in the outbox: sealed (AES-256-GCM, the mail's kind as
 * authenticated data) under a key derived from MFA_ENCRYPTION_KEY, so whoever reads the
 * database (a backup, a replica, a support query) cannot use a link that was not sent yet;
 * tokens are otherwise stored only as hashes. Opened only to render the mail.
 */
const SEALED = 'sealed:'

export function sealMailToken(key: Buffer, kind: string, token: string): string {
  return SEALED + sealSecret(key, kind, token).toString('base64url')
}

/** The token, or null when it was not sealed with this key for this kind (the key was changed: the mail cannot be sent). */
export function openMailToken(key: Buffer, kind: string, stored: string): string | null {
  // Queued before tokens were sealed: as it is.
  if (!stored.startsWith(SEALED)) return stored
  return openSecret(key, kind, Buffer.from(stored.slice(SEALED.length), 'base64url'))
}
