import { join } from 'node:path'
import { bootService, stopOnSignals } from '@chat/common/boot'
import { SERVICE_DEFAULTS } from '@chat/common/ports'
import { resolveInternalToken } from '@chat/common/dev-secrets'
import { loadPasswordDictionaries } from '@chat/common/passwords'
import { createTokenVerifier, remoteKeySet } from '@chat/common/tokens'
import { createUserApp } from './app'
import { createAuthClient } from './auth-client'
import { loadUserConfig } from './config'

const config = loadUserConfig()
const internalToken = resolveInternalToken(config)
const runtime = await bootService('user', config, SERVICE_DEFAULTS.user.schema, join(import.meta.dir, '..', 'migrations'))
// After the migrations, before listening: the password-strength dictionaries (about 2 s of CPU).
await loadPasswordDictionaries()
const verifier = createTokenVerifier({
  keys: remoteKeySet(config.AUTH_JWKS_URL),
  issuer: config.JWT_ISSUER,
  audience: config.JWT_AUDIENCE,
  revocations: runtime.revocations,
})

const app = createUserApp({
  ...runtime,
  config,
  verifier,
  auth: createAuthClient(config.AUTH_INTERNAL_URL, internalToken),
  internalToken,
}).listen({ port: config.PORT, hostname: config.HOST })

runtime.log.info('listening', { port: config.PORT, host: config.HOST })
stopOnSignals(runtime, async () => {
  await app.stop()
})
