import { Elysia, t } from 'elysia'
import { Message } from '@chat/common/chat-protocol'
import { errorResponses, failureAnswers } from '@chat/common/errors'
import { createRateLimiter } from '@chat/common/limits'
import { Uuid } from '@chat/common/schemas'
import { authGuard } from '@chat/common/tokens'
import type { ChatDeps } from '../deps'
import { ROOM_ACCESS_FAILURES } from '../rooms/failures'
import { RoomIdParams } from '../rooms/model'
import { EMOJI_MAX_LENGTH } from './emoji'
import { HistoryQuery, MessagePage, readHistory } from './history'
import { deleteMessage, editMessage, setReaction, type ChangeFailure } from './service'

const fail = failureAnswers({
  ...ROOM_ACCESS_FAILURES,
  BOTH_CURSORS: { code: 'VALIDATION_FAILED', message: 'Page either backwards (before) or forwards (after), not both', field: 'after' },
})

const failChange = failureAnswers<ChangeFailure | 'RATE_LIMITED'>({
  ...ROOM_ACCESS_FAILURES,
  MESSAGE_NOT_FOUND: { code: 'NOT_FOUND', message: 'No such message in this room (or it was deleted)' },
  NOT_ALLOWED: { code: 'NOT_ALLOWED', message: 'Only its sender (or, to delete it, an owner or admin of the room) may change this message' },
  BAD_BODY: { code: 'VALIDATION_FAILED', message: 'The body is not acceptable', field: 'body' },
  BAD_EMOJI: { code: 'VALIDATION_FAILED', message: 'A reaction is exactly one emoji (URL-encoded in the path)', field: 'emoji' },
  TOO_MANY_REACTIONS: { code: 'TOO_MANY_REACTIONS', message: 'This message already carries as many different emoji as allowed; react with one of them' },
  RATE_LIMITED: { code: 'RATE_LIMITED', message: 'Too many edits, deletions and reactions; try again later' },
})

const MessageParams = t.Object({ id: Uuid, messageId: Uuid })
const ReactionParams = t.Object({ id: Uuid, messageId: Uuid, emoji: t.String({ minLength: 1, maxLength: EMOJI_MAX_LENGTH, description: 'One emoji, URL-encoded' }) })
/** The length rule is configurable (MESSAGE_MAX_CHARS), so it is checked by the service, like `send`'s. */
const EditBody = t.Object({ body: t.String() }, { additionalProperties: false, examples: [{ body: 'fixed the typo' }] })
const NO_CONTENT = { 204: t.Void(), ...errorResponses }
const TAGS = ['Messages']
const CHANGE_LIMIT_NOTE =
  'Edits, deletions and reactions share one per-user limit (MESSAGE_CHANGES_MAX per MESSAGE_CHANGES_WINDOW_SECONDS, the REST counterpart of the socket’s send rate): over it, 429 RATE_LIMITED with Retry-After.'

export function messagesController(deps: ChatDeps) {
  const changes = createRateLimiter(deps.redis, {
    prefix: `${deps.config.REDIS_PREFIX}chat:message-changes:`,
    max: deps.config.MESSAGE_CHANGES_MAX,
    windowSeconds: deps.config.MESSAGE_CHANGES_WINDOW_SECONDS,
  })
  /** Counted before anything is looked up, so guessing message ids costs the same budget. */
  const takeChange = async (userId: string) => {
    const check = await changes.take(userId)
    if (!check.allowed) failChange('RATE_LIMITED', { retryAfterSeconds: check.retryAfterSeconds })
  }

  return new Elysia({ name: 'messages-controller', prefix: '/chat' })
    .use(authGuard(deps.verifier))
    .get(
      '/rooms/:id/messages',
      async ({ auth, params, query }) => {
        const result = await readHistory(deps, params.id, auth.userId, query)
        return result.ok ? result.page : fail(result.reason)
      },
      {
        auth: true,
        params: RoomIdParams,
        query: HistoryQuery,
        response: { 200: MessagePage, ...errorResponses },
        detail: {
          summary: 'A page of the room’s history',
          tags: TAGS,
          description:
            'Members only (403 for a public room, 404 for a private one). Messages only, in their current state: `editedAt` after an edit, `deleted: true` with `body: ""` after a deletion, `replyTo` when set, `reactions: [{emoji, count, me}]` (possibly empty). Items are in ascending `seq`; seqs may skip those of events (see `GET /chat/rooms/{id}/events`). No cursor: the newest `limit` messages. `before=S`: the `limit` messages just older than S; `nextCursor` is the `before` of the next older page, null once the first message is included. `after=S`: the `limit` messages just newer than S; `nextCursor` is the `after` of the next newer page, null when caught up (continue live over the WebSocket with `join{since}`). `limit` defaults to 50, values above 100 are clamped.',
        },
      },
    )
    .patch(
      '/rooms/:id/messages/:messageId',
      async ({ auth, params, body }) => {
        await takeChange(auth.userId)
        const result = await editMessage(deps, params.id, params.messageId, auth.userId, body.body)
        return result.ok ? result.message : failChange(result.reason, { detail: result.detail })
      },
      {
        auth: true,
        params: MessageParams,
        body: EditBody,
        response: { 200: Message, ...errorResponses },
        detail: {
          summary: 'Edit a message (its sender only)',
          tags: TAGS,
          description: `Answers the message with \`editedAt\`; every socket that joined the room gets \`event{kind:"edit", target, data:{body}}\`. The body follows the rules of \`send\` (1–MESSAGE_MAX_CHARS characters, no NUL or unpaired surrogate; 422 otherwise). 403 NOT_ALLOWED for anyone but the sender; 404 for an unknown or deleted message. ${CHANGE_LIMIT_NOTE}`,
        },
      },
    )
    .delete(
      '/rooms/:id/messages/:messageId',
      async ({ auth, params, set }) => {
        await takeChange(auth.userId)
        const result = await deleteMessage(deps, params.id, params.messageId, auth.userId)
        if (!result.ok) failChange(result.reason)
        set.status = 204
      },
      {
        auth: true,
        params: MessageParams,
        response: NO_CONTENT,
        detail: {
          summary: 'Delete a message (its sender, or an owner/admin)',
          tags: TAGS,
          description: `The body is erased from storage (also from its edit events), its reactions are removed, and the message stays in history as \`deleted: true\` with \`body: ""\`, so seqs and replies stay intact; every socket that joined the room gets \`event{kind:"delete", target}\`. 403 NOT_ALLOWED for other members; 404 for an unknown or already deleted message. ${CHANGE_LIMIT_NOTE}`,
        },
      },
    )
    .put(
      '/rooms/:id/messages/:messageId/reactions/:emoji',
      async ({ auth, params, set }) => {
        await takeChange(auth.userId)
        const result = await setReaction(deps, params.id, params.messageId, auth.userId, params.emoji, true)
        if (!result.ok) failChange(result.reason)
        set.status = 204
      },
      {
        auth: true,
        params: ReactionParams,
        response: NO_CONTENT,
        detail: {
          summary: 'React to a message',
          tags: TAGS,
          description: `Members only. Idempotent: the first call emits \`event{kind:"reaction", target, data:{emoji, added:true}}\`, repeats change nothing. \`emoji\` is one emoji grapheme, URL-encoded (422 otherwise). A message carries at most REACTIONS_MAX_PER_MESSAGE different emoji (409 TOO_MANY_REACTIONS for a new one past it). 404 for an unknown or deleted message. ${CHANGE_LIMIT_NOTE}`,
        },
      },
    )
    .delete(
      '/rooms/:id/messages/:messageId/reactions/:emoji',
      async ({ auth, params, set }) => {
        await takeChange(auth.userId)
        const result = await setReaction(deps, params.id, params.messageId, auth.userId, params.emoji, false)
        if (!result.ok) failChange(result.reason)
        set.status = 204
      },
      {
        auth: true,
        params: ReactionParams,
        response: NO_CONTENT,
        detail: {
          summary: 'Take back a reaction',
          tags: TAGS,
          description: `Members only. Idempotent: removing the caller’s reaction emits \`event{kind:"reaction", target, data:{emoji, added:false}}\`; when there was none, nothing changes. 404 for an unknown or deleted message. ${CHANGE_LIMIT_NOTE}`,
        },
      },
    )
}
