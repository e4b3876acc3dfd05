import { join } from 'node:path'
import { bootService, stopOnSignals } from '@chat/common/boot'
import { SERVICE_DEFAULTS } from '@chat/common/ports'
import { resolveInternalToken } from '@chat/common/dev-secrets'
import { loadPasswordDictionaries } from '@chat/common/passwords'
import { createTokenVerifier } from '@chat/common/tokens'
import { createAuthApp } from './app'
import { startCleanupJob } from './cleanup/service'
import { loadAuthConfig } from './config'
import { createMailTransport, startMailWorker } from './mail/worker'
import { createAccessTokenSigner, loadSigningKey } from './keys/signing-key'
import { resolveSealingKeys } from './mfa/key'
import { createPasswordHasher } from './password/hashing'
import { createUsersClient } from './users-client'
import { listRevocationsInForce } from './sessions/service'

const config = loadAuthConfig()
const internalToken = resolveInternalToken(config)
const key = await loadSigningKey(config)
// Auth is the revocations' source of truth: it reads its own table, not its own route.
const runtime = await bootService('auth', config, SERVICE_DEFAULTS.auth.schema, join(import.meta.dir, '..', 'migrations'), { loadRevocations: listRevocationsInForce })
// After the migrations, before listening: the password-strength dictionaries (about 2 s of CPU).
await loadPasswordDictionaries()
// The auth service verifies with its own public key: no JWKS round trip to itself.
const verifier = createTokenVerifier({
  keys: key.publicKey,
  issuer: config.JWT_ISSUER,
  audience: config.JWT_AUDIENCE,
  revocations: runtime.revocations,
})

const sealingKeys = resolveSealingKeys(config)
const mailWorker = startMailWorker({ ...runtime, config, ...sealingKeys }, await createMailTransport({ config, log: runtime.log }))

const app = createAuthApp({
  ...runtime,
  config,
  key,
  signAccessToken: createAccessTokenSigner(key, config),
  verifier,
  hasher: createPasswordHasher(config),
  internalToken,
  ...sealingKeys,
  mailer: mailWorker,
  users: createUsersClient(config.USER_INTERNAL_URL, internalToken),
}).listen({ port: config.PORT, hostname: config.HOST })

const cleanup = startCleanupJob({ ...runtime, config })

runtime.log.info('listening', { port: config.PORT, host: config.HOST })
stopOnSignals(runtime, async () => {
  cleanup.stop()
  await app.stop()
  await mailWorker.stop()
})
