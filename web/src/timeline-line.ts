import type { Notice } from '@chat/client/room-state'
import { el } from './dom'
import type { NameBook } from './names'

/** A part of a timeline line: words, or a user shown by name. */
export type LinePart = string | { user: string }

const ROLE_WORDS = { admin: 'an admin', member: 'a member' } as const

/**
 * What a membership or room change says between the messages ("Ada added Bob", "Bob left",
 * "Ada renamed the room to “plans”"). Pure, so each wording is unit-tested
 * (timeline-line.test.ts); names are filled in by the caller.
 */
export function describeNotice(notice: Notice): LinePart[] {
  const actor = { user: notice.actorId }
  if (notice.kind === 'room') {
    const { name, topic } = notice.data
    const changes: LinePart[][] = []
    if (name !== undefined) changes.push([`renamed the room to “${name}”`])
    if (topic !== undefined) changes.push([topic === '' ? 'cleared the topic' : `set the topic to “${topic}”`])
    return [actor, ' ', ...changes.flatMap((words, i) => (i === 0 ? words : [' and ', ...words]))]
  }
  const user = { user: notice.data.userId }
  switch (notice.data.change) {
    case 'joined':
      return [user, ' joined']
    case 'left':
      return [user, ' left']
    case 'added':
      return [actor, ' added ', user]
    case 'removed':
      return [actor, ' removed ', user]
    case 'banned':
      return [user, ' was banned']
    case 'unbanned':
      return [user, ' was unbanned']
    case 'role': {
      const role = notice.data.role
      if (role === 'owner') return [actor, ' handed the room over to ', user]
      const words = role === undefined ? 'a new role' : ROLE_WORDS[role]
      // The previous owner's step down to admin comes with a handover, made by themselves.
      if (notice.data.userId === notice.actorId) return [user, ` is now ${words}`]
      return [actor, ' made ', user, ` ${words}`]
    }
  }
}

/** A change as a line of the message list, in its `seq` place. */
export function renderNoticeLine(notice: Notice, names: NameBook): HTMLLIElement {
  const parts = describeNotice(notice).map((part) => (typeof part === 'string' ? part : names.nameSpan(part.user)))
  return el('li', { className: 'timeline-line', attrs: { 'data-seq': String(notice.seq) } }, [el('p', {}, parts)])
}
