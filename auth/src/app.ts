import { createServiceApp } from '@chat/common/http'
import { credentialsController } from './credentials'
import { emailController } from './email'
import type { AuthDeps } from './deps'
import { keysController } from './keys'
import { loginController } from './login'
import { mfaController } from './mfa'
import { passwordController } from './password'
import { recoveryController } from './recovery'
import { revocationsController } from './revocations'
import { sessionsController } from './sessions'

export function createAuthApp(deps: AuthDeps) {
  return createServiceApp({
    service: 'auth',
    prefix: '/auth',
    config: deps.config,
    log: deps.log,
    sql: deps.sql,
    redis: deps.redis,
    openapi: {
      title: 'Auth service',
      description:
        'Login (with TOTP two-factor), refresh-token rotation, logout, sessions, email verification, password reset and the public signing keys. Access tokens are EdDSA JWTs (15 min) verified locally by every service; revocations reach every instance through Redis, and are kept in Postgres as their source of truth.',
    },
  })
    .use(keysController(deps.key))
    .use(loginController(deps))
    .use(sessionsController(deps))
    .use(passwordController(deps))
    .use(mfaController(deps))
    .use(recoveryController(deps))
    .use(emailController(deps))
    .use(credentialsController(deps))
    .use(revocationsController(deps))
}
