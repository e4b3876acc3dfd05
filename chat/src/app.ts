import { createServiceApp } from '@chat/common/http'
import type { ChatDeps } from './deps'
import { invitesController } from './invites'
import { messagesController } from './messages'
import { moderationController } from './moderation'
import { receiptsController } from './receipts'
import { roomsController } from './rooms'
import { searchController } from './search'
import { timelineController } from './timeline'
import { wsController, wsOptions } from './ws'

export function createChatApp(deps: ChatDeps, ws: ReturnType<typeof wsController>) {
  return createServiceApp({
    service: 'chat',
    prefix: '/chat',
    config: deps.config,
    log: deps.log,
    sql: deps.sql,
    redis: deps.redis,
    openapi: {
      title: 'Chat service',
      description:
        'Rooms, direct messages, history and presence over REST; real-time delivery over the WebSocket at /chat/ws (see the protocol page).',
    },
    websocket: wsOptions(deps),
  })
    .use(roomsController(deps))
    .use(messagesController(deps))
    .use(moderationController(deps))
    .use(invitesController(deps))
    .use(receiptsController(deps))
    .use(searchController(deps))
    .use(timelineController(deps))
    .use(ws.controller)
}
