import type { ApiClient } from '@chat/client/api'
import { describeError } from './auth-view'
import { announce, byId, el } from './dom'
import type { NameBook } from './names'

/** Ban pages read for one room; beyond this the newest bans are shown (they come first). */
const BAN_PAGES_MAX = 10
const DATE_FORMAT = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' })

type Ban = Awaited<ReturnType<ApiClient['listBans']>>['items'][number]

/**
 * The room panel's list of bans, for owners and admins (the only ones the server answers):
 * who is banned, by whom, when and why, each with an Unban button.
 */
export function createBanList(deps: { api: ApiClient; names: NameBook }) {
  const { api, names } = deps
  const section = byId('bans-section')
  const list = byId<HTMLUListElement>('ban-list')
  let roomId: string | null = null
  /** Bumped on every room switch or reload, so an older answer is dropped. */
  let generation = 0

  async function load() {
    if (roomId === null) return
    const current = ++generation
    const room = roomId
    const bans: Ban[] = []
    let cursor: string | undefined
    try {
      for (let page = 0; page < BAN_PAGES_MAX; page++) {
        const answer = await api.listBans(room, { cursor })
        bans.push(...answer.items)
        if (answer.nextCursor === null) break
        cursor = answer.nextCursor
      }
    } catch (error) {
      if (current === generation) list.replaceChildren(el('li', { className: 'form-error', text: describeError(error) }))
      return
    }
    if (current === generation) render(room, bans)
  }

  function render(room: string, bans: Ban[]) {
    if (bans.length === 0) return void list.replaceChildren(el('li', { className: 'muted', text: 'Nobody is banned.' }))
    list.replaceChildren(
      ...bans.map((ban) => {
        const unban = el('button', { text: 'Unban', attrs: { type: 'button' } }, [' ', names.nameSpan(ban.userId, 'visually-hidden')])
        unban.addEventListener('click', async () => {
          unban.disabled = true
          try {
            await api.unbanUser(room, ban.userId)
            announce(`${names.nameOf(ban.userId)} is no longer banned`)
            await load()
          } catch (error) {
            unban.disabled = false
            unban.after(el('span', { className: 'form-error', text: ` ${describeError(error)}`, attrs: { role: 'alert' } }))
          }
        })
        const when = DATE_FORMAT.format(new Date(ban.bannedAt))
        return el('li', { attrs: { 'data-user-id': ban.userId } }, [
          names.nameSpan(ban.userId),
          el('span', { className: 'ban-detail' }, ['banned by ', names.nameSpan(ban.bannedBy, 'by'), `, ${when}`, ban.reason === '' ? '' : `: “${ban.reason}”`]),
          el('span', { className: 'member-actions' }, [unban]),
        ])
      }),
    )
  }

  return {
    /** Shows the bans of a room the user moderates; null hides the list (not a moderator, or no room). */
    show(next: string | null) {
      section.hidden = next === null
      if (next === roomId) return
      roomId = next
      generation++
      list.replaceChildren()
      void load()
    },
    /** Someone was banned or unbanned: the list is read again. */
    changed() {
      if (roomId !== null) void load()
    },
  }
}
