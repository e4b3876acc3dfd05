import { createServiceApp } from '@chat/common/http'
import type { UserDeps } from './deps'
import { internalUsersController } from './internal'
import { usersController } from './users'

export function createUserApp(deps: UserDeps) {
  return createServiceApp({
    service: 'user',
    prefix: '/users',
    config: deps.config,
    log: deps.log,
    sql: deps.sql,
    redis: deps.redis,
    openapi: {
      title: 'User service',
      description: 'Registration, profiles and user search. Authenticate with the access token from POST /auth/login.',
    },
  })
    .use(usersController(deps))
    .use(internalUsersController(deps))
}
