import { byId } from './dom'
import type { NameBook } from './names'

/** The server forwards typing at most once a second; a name stays shown this long after the last one. */
const TYPING_SHOWN_MS = 3_000

/** "Ada is typing…" under the open room's messages. */
export function createTypingLine(names: NameBook) {
  const line = byId('typing-indicator')
  const typers = new Map<string, ReturnType<typeof setTimeout>>()

  function render() {
    const who = [...typers.keys()].map((id) => names.nameOf(id))
    line.textContent = who.length === 0 ? '' : `${who.join(', ')} ${who.length === 1 ? 'is' : 'are'} typing…`
  }

  function stop(userId: string) {
    clearTimeout(typers.get(userId))
    typers.delete(userId)
    render()
  }

  return {
    show(userId: string) {
      clearTimeout(typers.get(userId))
      typers.set(userId, setTimeout(() => stop(userId), TYPING_SHOWN_MS))
      render()
    },
    /** Their message arrived: they stopped typing it. */
    stop,
    clear() {
      for (const timer of typers.values()) clearTimeout(timer)
      typers.clear()
      render()
    },
  }
}
