import type { Message } from '@chat/common/chat-protocol'
import { el } from './dom'
import type { NameBook } from './names'

const TIME_FORMAT = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })
const DATE_TIME_FORMAT = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })
/** A quoted original is cut to this many characters. */
const QUOTE_CHARS = 80
export const DELETED_TEXT = 'This message was deleted'

/** What a message's rendering needs beyond the message itself. */
export type MessageContext = {
  myId: string
  names: NameBook
  /** The original of a reply, when it is loaded. */
  original: (messageId: string) => Message | undefined
  /** The user may delete other people's messages here (an owner or admin of the room). */
  canModerate: boolean
}

/** A message not yet acknowledged has neither seq nor id. */
export type ShownMessage = Pick<Message, 'senderId' | 'body' | 'clientId'> & Partial<Message>

const action = (name: string, text: string, label: string, extra: Record<string, string> = {}) =>
  el('button', { className: `action ${name}`, text, attrs: { type: 'button', 'data-action': name, 'aria-label': label, ...extra } })

export function quoteOf(message: Message | undefined, names: NameBook): string {
  if (message === undefined) return 'an earlier message'
  if (message.deleted === true) return `${names.nameOf(message.senderId)}: ${DELETED_TEXT.toLowerCase()}`
  const text = message.body.length > QUOTE_CHARS ? `${message.body.slice(0, QUOTE_CHARS)}…` : message.body
  return `${names.nameOf(message.senderId)}: ${text}`
}

/**
 * One message as a list item: who and when, the quote it replies to (a button that jumps
 * to the original), the body or a tombstone, its reactions (buttons that toggle mine) and
 * its actions. Buttons carry `data-action`; message-actions.ts handles them for the list.
 */
export function renderMessage(message: ShownMessage, context: MessageContext): HTMLLIElement {
  const own = message.senderId === context.myId
  const deleted = message.deleted === true
  const item = el('li', { className: `message${own ? ' own' : ''}${deleted ? ' deleted' : ''}`, attrs: { 'data-client-id': message.clientId } })
  if (message.seq !== undefined) item.dataset.seq = String(message.seq)
  if (message.id !== undefined) item.dataset.id = message.id

  const meta = el('p', { className: 'meta' }, [context.names.nameSpan(message.senderId, 'author'), ' '])
  if (message.createdAt === undefined) meta.append(el('span', { className: 'state', text: 'Sending…' }))
  else meta.append(el('time', { text: TIME_FORMAT.format(new Date(message.createdAt)), attrs: { datetime: message.createdAt, title: DATE_TIME_FORMAT.format(new Date(message.createdAt)) } }))
  if (message.editedAt != null && !deleted) meta.append(' ', el('span', { className: 'edited', text: '(edited)', attrs: { title: DATE_TIME_FORMAT.format(new Date(message.editedAt)) } }))
  item.append(meta)

  if (message.replyTo != null) {
    const quote = quoteOf(context.original(message.replyTo), context.names)
    item.append(el('button', { className: 'quote', attrs: { type: 'button', 'data-action': 'jump', 'data-target': message.replyTo, 'aria-label': `In reply to ${quote}. Show the original` } }, [quote]))
  }
  item.append(deleted ? el('p', { className: 'body tombstone', text: DELETED_TEXT }) : el('p', { className: 'body', text: message.body }))
  if (message.id === undefined || deleted) return item

  const reactions = message.reactions ?? []
  if (reactions.length > 0) {
    item.append(
      el(
        'div',
        { className: 'reactions', attrs: { role: 'group', 'aria-label': 'Reactions' } },
        reactions.map((r) =>
          el('button', {
            className: 'reaction',
            text: `${r.emoji} ${r.count}`,
            attrs: { type: 'button', 'data-action': 'toggle-reaction', 'data-emoji': r.emoji, 'aria-pressed': String(r.me), 'aria-label': `${r.emoji} ${r.count}` },
          }),
        ),
      ),
    )
  }
  const actions = el('div', { className: 'actions', attrs: { role: 'group', 'aria-label': 'Message actions' } }, [
    action('reply', 'Reply', 'Reply'),
    action('react', 'React', 'Add a reaction', { 'aria-expanded': 'false' }),
  ])
  if (own) actions.append(action('edit', 'Edit', 'Edit message'))
  if (own || context.canModerate) actions.append(action('delete', 'Delete', 'Delete message'))
  item.append(actions)
  return item
}
