import type { ApiClient } from '@chat/client/api'
import type { Message } from '@chat/common/chat-protocol'
import { describeError } from './auth-view'
import { announce, byId, el } from './dom'
import type { MessageList } from './message-list'

/** The picker's choice: the reactions people use most, one grapheme each (the contract's rule). */
export const COMMON_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢'] as const

/**
 * What the buttons on a message do (they carry `data-action`, see message-item.ts): reply,
 * pick a reaction, toggle one, edit in place, delete after a second click, and jump from a
 * quote to its original. One listener on the list serves every message.
 */
export function wireMessageActions(deps: {
  api: ApiClient
  list: MessageList
  roomId: () => string | null
  startReply: (message: Message) => void
  /** Shows the original of a reply, loading older history if needed. */
  jumpTo: (messageId: string) => void
  signal: AbortSignal
}) {
  const { api, list } = deps
  const listElement = byId('message-list')

  /** Runs a call for a message; a failure is said beside its actions and to screen readers. */
  async function attempt(item: HTMLElement, call: () => Promise<unknown>) {
    item.querySelector('.action-error')?.remove()
    try {
      await call()
    } catch (error) {
      const text = describeError(error)
      item.append(el('p', { className: 'form-error action-error', text, attrs: { role: 'alert' } }))
      announce(text)
    }
  }

  function togglePicker(item: HTMLElement, button: HTMLElement, message: Message, roomId: string) {
    const open = item.querySelector('.picker')
    if (open !== null) return closePicker(item)
    const picker = el(
      'div',
      { className: 'picker', attrs: { role: 'group', 'aria-label': 'Pick a reaction' } },
      COMMON_REACTIONS.map((emoji) => {
        const mine = message.reactions?.some((r) => r.emoji === emoji && r.me) ?? false
        const choice = el('button', { className: 'choice', text: emoji, attrs: { type: 'button', 'aria-label': `React with ${emoji}`, 'aria-pressed': String(mine) } })
        choice.addEventListener('click', () => {
          closePicker(item)
          void attempt(item, () => api.react(roomId, message.id, emoji, !mine))
        })
        return choice
      }),
    )
    picker.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') closePicker(item)
    })
    button.setAttribute('aria-expanded', 'true')
    button.after(picker)
    picker.querySelector('button')?.focus()
  }

  function closePicker(item: HTMLElement) {
    item.querySelector('.picker')?.remove()
    const button = item.querySelector<HTMLElement>('[data-action="react"]')
    button?.setAttribute('aria-expanded', 'false')
    button?.focus()
    if (item.dataset.id !== undefined) list.refresh(item.dataset.id)
  }

  function startEdit(item: HTMLElement, message: Message, roomId: string) {
    if (item.querySelector('.edit-form') !== null) return
    const body = item.querySelector<HTMLElement>('.body')
    if (body === null) return
    const input = el('textarea', { className: 'edit-input', attrs: { rows: '2', maxlength: '4000', 'aria-label': 'Edit message' } })
    input.value = message.body
    const form = el('form', { className: 'edit-form' }, [
      input,
      el('div', { className: 'edit-buttons' }, [el('button', { className: 'primary', text: 'Save', attrs: { type: 'submit' } }), el('button', { text: 'Cancel', attrs: { type: 'button', 'data-edit': 'cancel' } })]),
    ])
    const finish = () => {
      form.remove()
      body.hidden = false
      item.querySelector<HTMLElement>('[data-action="edit"]')?.focus()
      list.refresh(message.id)
    }
    const save = () => {
      const text = input.value.trim()
      if (text === '' || text === message.body) return finish()
      void attempt(item, async () => {
        await api.editMessage(roomId, message.id, text)
        finish()
      })
    }
    form.addEventListener('submit', (event) => {
      event.preventDefault()
      save()
    })
    form.querySelector('[data-edit="cancel"]')!.addEventListener('click', finish)
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') finish()
      else if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault()
        save()
      }
    })
    body.hidden = true
    body.after(form)
    input.focus()
  }

  /** A deletion cannot be undone, so it takes a second, explicit click. */
  function confirmDelete(item: HTMLElement, message: Message, roomId: string) {
    if (item.querySelector('.confirm') !== null) return
    const yes = el('button', { className: 'danger', text: 'Delete', attrs: { type: 'button' } })
    const no = el('button', { text: 'Cancel', attrs: { type: 'button' } })
    const box = el('div', { className: 'confirm', attrs: { role: 'group', 'aria-label': 'Delete this message?' } }, [el('span', { text: 'Delete this message?' }), yes, no])
    no.addEventListener('click', () => {
      box.remove()
      item.querySelector<HTMLElement>('[data-action="delete"]')?.focus()
      list.refresh(message.id)
    })
    yes.addEventListener('click', () =>
      void attempt(item, async () => {
        await api.deleteMessage(roomId, message.id)
        box.remove()
        list.refresh(message.id)
      }),
    )
    item.append(box)
    no.focus()
  }

  function showActionsOf(item: HTMLElement | null) {
    for (const other of listElement.querySelectorAll('.show-actions')) if (other !== item) other.classList.remove('show-actions')
    item?.classList.toggle('show-actions')
  }

  listElement.addEventListener(
    'click',
    (event) => {
      const button = (event.target as HTMLElement).closest<HTMLElement>('[data-action]')
      // A tap on the message itself shows its actions (touch screens have no hover).
      if (button === null) return showActionsOf((event.target as HTMLElement).closest<HTMLElement>('.message'))
      const item = button.closest<HTMLElement>('.message')
      const roomId = deps.roomId()
      if (item === null || roomId === null) return
      if (button.dataset.action === 'jump') return deps.jumpTo(button.dataset.target!)
      const message = item.dataset.id === undefined ? undefined : list.get(item.dataset.id)
      if (message === undefined) return
      switch (button.dataset.action) {
        case 'reply':
          return deps.startReply(message)
        case 'react':
          return togglePicker(item, button, message, roomId)
        case 'toggle-reaction': {
          const emoji = button.dataset.emoji!
          return void attempt(item, () => api.react(roomId, message.id, emoji, button.getAttribute('aria-pressed') !== 'true'))
        }
        case 'edit':
          return startEdit(item, message, roomId)
        case 'delete':
          return confirmDelete(item, message, roomId)
      }
    },
    { signal: deps.signal },
  )
}
