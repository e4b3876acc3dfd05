import type { ApiClient } from '@chat/client/api'
import type { MemberChange, MemberRole } from '@chat/common/chat-protocol'
import { describeError } from './auth-view'
import { createBanList } from './ban-list'
import { askFirst } from './confirm'
import { announce, byId, el } from './dom'
import type { NameBook } from './names'
import { createRoomDeletion } from './room-deletion'
import type { Member, Room } from './types'

/** Member pages read for one room; a room bigger than this shows its first members only. */
const MEMBER_PAGES_MAX = 10
/** Invite links made here last this long (the server caps it) and have no use limit. */
const INVITE_TTL_SECONDS = 7 * 24 * 3600
const ROLE_NAMES: Record<MemberRole, string> = { owner: 'Owner', admin: 'Admin', member: 'Member' }

/**
 * The room's side panel: its members with their roles (and, for owners and admins, the
 * buttons to promote, demote, remove and ban), the name and topic form, and invite links.
 * It keeps the user's own role, which decides what the rest of the room may offer.
 */
export function createRoomInfo(deps: {
  api: ApiClient
  names: NameBook
  myId: string
  signal: AbortSignal
  /** The user's role in the open room changed (null: unknown or not a member). */
  onRole: (role: MemberRole | null) => void
}) {
  const { api, names, myId, signal } = deps
  const panel = byId('room-info')
  const toggle = byId<HTMLButtonElement>('room-info-toggle')
  const memberList = byId<HTMLUListElement>('member-list')
  const settings = byId<HTMLFormElement>('room-settings-form')
  const nameInput = byId<HTMLInputElement>('room-settings-name')
  const topicInput = byId<HTMLInputElement>('room-settings-topic')
  const settingsError = byId('room-settings-error')
  const inviteSection = byId('invite-section')
  const inviteLink = byId<HTMLInputElement>('invite-link')
  const inviteError = byId('invite-error')
  let room: Room | null = null
  let members: Member[] = []
  let myRole: MemberRole | null = null
  /** Bumped on every room switch, so answers for the previous room are dropped. */
  let generation = 0

  const bans = createBanList({ api, names })
  const deletion = createRoomDeletion({ api })

  const canModerate = () => myRole === 'owner' || myRole === 'admin'

  async function loadMembers() {
    if (room === null) return
    const current = generation
    const roomId = room.id
    const all: Member[] = []
    let cursor: string | undefined
    for (let page = 0; page < MEMBER_PAGES_MAX; page++) {
      const answer = await api.listMembers(roomId, { cursor })
      all.push(...answer.items)
      if (answer.nextCursor === null) break
      cursor = answer.nextCursor
    }
    if (current !== generation) return
    members = all
    const role = all.find((m) => m.userId === myId)?.role ?? null
    if (role !== myRole) {
      myRole = role
      deps.onRole(role)
    }
    render()
  }

  /** Who may do what to whom, as the contract says: the owner to anyone else, an admin to members only. */
  function actionsFor(member: Member): HTMLElement[] {
    if (member.userId === myId || !canModerate() || member.role === 'owner') return []
    const buttons: HTMLElement[] = []
    if (myRole === 'owner') {
      const next = member.role === 'admin' ? 'member' : 'admin'
      buttons.push(memberAction(member.userId, next === 'admin' ? 'Make admin' : 'Make member', () => api.setMemberRole(room!.id, member.userId, next)))
      // One owner per room: handing over makes the caller an admin, and only the new owner can undo it.
      buttons.push(
        memberAction(
          member.userId,
          'Hand over to',
          () => api.setMemberRole(room!.id, member.userId, 'owner'),
          'as owner? You become an admin, and only they can make you owner again.',
          `${names.nameOf(member.userId)} is now the owner; you are an admin`,
        ),
      )
    }
    if (myRole === 'owner' || member.role === 'member') {
      buttons.push(memberAction(member.userId, 'Remove', () => api.removeMember(room!.id, member.userId), 'from the room?'))
      buttons.push(memberAction(member.userId, 'Ban', () => api.banUser(room!.id, member.userId), '? They cannot come back until unbanned.'))
    }
    return buttons
  }

  /**
   * A button for a change to a member, named with the member's name (a hidden part, which
   * the name book fills in when the profile arrives); `question` asks for a second click first.
   */
  function memberAction(userId: string, verb: string, call: () => Promise<unknown>, question?: string, done = `${verb} ${names.nameOf(userId)}: done`): HTMLElement {
    const button = el('button', { text: verb, attrs: { type: 'button' } }, [' ', names.nameSpan(userId, 'visually-hidden')])
    const run = async (near: HTMLElement) => {
      try {
        await call()
        announce(done)
        await loadMembers()
      } catch (error) {
        near.after(el('span', { className: 'form-error', text: ` ${describeError(error)}`, attrs: { role: 'alert' } }))
      }
    }
    if (question === undefined) button.addEventListener('click', () => void run(button))
    else askFirst(button, () => ({ question: `${verb} ${names.nameOf(userId)} ${question}`, yes: `Yes, ${verb.toLowerCase()} ${names.nameOf(userId)}` }), (box) => void run(box))
    return button
  }

  function render() {
    memberList.replaceChildren(
      ...members.map((member) =>
        el('li', { attrs: { 'data-user-id': member.userId } }, [
          names.nameSpan(member.userId),
          member.userId === myId ? ' (you)' : '',
          el('span', { className: `role role-${member.role}`, text: ROLE_NAMES[member.role] }),
          el('span', { className: 'member-actions' }, actionsFor(member)),
        ]),
      ),
    )
    settings.hidden = !canModerate()
    inviteSection.hidden = !canModerate()
    bans.show(canModerate() && room !== null ? room.id : null)
    deletion.show(myRole === 'owner' ? room : null)
  }

  function setOpen(open: boolean) {
    panel.hidden = !open
    toggle.setAttribute('aria-expanded', String(open))
    if (open) {
      panel.querySelector<HTMLElement>('h2')?.focus()
      void loadMembers().catch((error) => memberList.replaceChildren(el('li', { className: 'form-error', text: describeError(error) })))
    }
  }

  toggle.addEventListener('click', () => setOpen(panel.hidden), { signal })
  byId('room-info-close').addEventListener(
    'click',
    () => {
      setOpen(false)
      toggle.focus()
    },
    { signal },
  )
  panel.addEventListener(
    'keydown',
    (event) => {
      if (event.key !== 'Escape') return
      setOpen(false)
      toggle.focus()
    },
    { signal },
  )
  settings.addEventListener(
    'submit',
    async (event) => {
      event.preventDefault()
      if (room === null) return
      settingsError.textContent = ''
      try {
        await api.updateRoom(room.id, { name: nameInput.value.trim(), topic: topicInput.value.trim() })
        announce('Room settings saved')
      } catch (error) {
        settingsError.textContent = describeError(error)
      }
    },
    { signal },
  )
  byId('create-invite').addEventListener(
    'click',
    async () => {
      if (room === null) return
      inviteError.textContent = ''
      try {
        const invite = await api.createInvite(room.id, { expiresInSeconds: INVITE_TTL_SECONDS })
        inviteLink.value = `${location.origin}/invite/${encodeURIComponent(invite.code)}`
        inviteLink.hidden = false
        byId('invite-link-label').hidden = false
        inviteLink.focus()
        inviteLink.select()
      } catch (error) {
        inviteError.textContent = describeError(error)
      }
    },
    { signal },
  )

  return {
    /** A room was opened: its members and the user's role are read afresh. */
    open(next: Room) {
      generation++
      room = next
      members = []
      myRole = null
      deps.onRole(null)
      memberList.replaceChildren()
      nameInput.value = next.name
      topicInput.value = next.topic
      inviteLink.value = ''
      inviteLink.hidden = true
      byId('invite-link-label').hidden = true
      settingsError.textContent = inviteError.textContent = ''
      settings.hidden = inviteSection.hidden = true
      bans.show(null)
      deletion.show(null)
      // Only rooms with roles are opened here: direct rooms have no owner, nobody moderates them (room-pane.ts).
      toggle.hidden = false
      void loadMembers().catch(() => {})
    },

    /** A membership changed in the open room: roles and the list are read again (and the bans, for a ban or unban). */
    membersChanged(change: MemberChange) {
      void loadMembers().catch(() => {})
      if (change === 'banned' || change === 'unbanned') bans.changed()
    },

    /** The room was renamed or got a topic (by anyone): the form shows it unless the user is typing there. */
    roomChanged(changes: { name?: string; topic?: string }) {
      if (changes.name !== undefined && document.activeElement !== nameInput) nameInput.value = changes.name
      if (changes.topic !== undefined && document.activeElement !== topicInput) topicInput.value = changes.topic
    },

    close() {
      generation++
      room = null
      members = []
      myRole = null
      bans.show(null)
      deletion.show(null)
      setOpen(false)
      toggle.hidden = true
    },
  }
}
