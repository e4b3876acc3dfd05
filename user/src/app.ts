import { pingDb } from '@chat/common/db'
import { createServiceApp } from '@chat/common/http'
import { pingRedis } from '@chat/common/redis'
import type { UserDeps } from './deps'
import { internalUsersController } from './internal'
import { usersController } from './users'

export function createUserApp(deps: UserDeps) {
  return createServiceApp({
    service: 'user',
    prefix: '/users',
    config: deps.config,
    log: deps.log,
    readiness: [
      { name: 'postgres', check: () => pingDb(deps.sql) },
      { name: 'redis', check: () => pingRedis(deps.redis) },
    ],
    openapi: {
      title: 'User service',
      description: 'Registration, profiles and user search. Authenticate with the access token from POST /auth/login.',
    },
  })
    .use(usersController(deps))
    .use(internalUsersController(deps))
}
