import type { ApiClient } from '@chat/client/api'
import { describeError } from './auth-view'
import { askFirst } from './confirm'
import { byId, el } from './dom'

/**
 * The owner's "Delete room" button, which asks first. The room leaves every member's list
 * (this tab's too) through the socket's `left{reason:"deleted"}`, not through this module.
 */
export function createRoomDeletion(deps: { api: ApiClient }) {
  const section = byId('delete-room-section')
  const button = byId<HTMLButtonElement>('delete-room')
  let room: { id: string; name: string } | null = null

  askFirst(
    button,
    () => ({ question: `Delete ${room?.name ?? 'this room'} for everyone? Its messages are gone for good.`, yes: 'Yes, delete the room' }),
    async (box) => {
      if (room === null) return
      box.querySelector('.form-error')?.remove()
      try {
        await deps.api.deleteRoom(room.id)
      } catch (error) {
        box.append(el('span', { className: 'form-error', text: ` ${describeError(error)}`, attrs: { role: 'alert' } }))
      }
    },
  )

  return {
    /** Offers deletion for a room the user owns; null hides it. */
    show(next: { id: string; name: string } | null) {
      room = next
      section.hidden = next === null
    },
  }
}
