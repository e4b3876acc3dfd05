import { pingDb } from '@chat/common/db'
import { createServiceApp } from '@chat/common/http'
import { pingRedis } from '@chat/common/redis'
import type { ChatDeps } from './deps'
import { messagesController } from './messages'
import { roomsController } from './rooms'
import { wsController, wsOptions } from './ws'

export function createChatApp(deps: ChatDeps, ws: ReturnType<typeof wsController>) {
  return createServiceApp({
    service: 'chat',
    prefix: '/chat',
    config: deps.config,
    log: deps.log,
    readiness: [
      { name: 'postgres', check: () => pingDb(deps.sql) },
      { name: 'redis', check: () => pingRedis(deps.redis) },
    ],
    openapi: {
      title: 'Chat service',
      description:
        'Rooms, direct messages, history and presence over REST; real-time delivery over the WebSocket at /chat/ws (see the protocol page).',
    },
    websocket: wsOptions(deps),
  })
    .use(roomsController(deps))
    .use(messagesController(deps))
    .use(ws.controller)
}
