import { el } from './dom'

/**
 * Asks before something that cannot be taken back: clicking `button` swaps it for the
 * question with a "Yes, …" and a Cancel button (focus on Cancel, so Enter does no harm);
 * Cancel puts the button back. `run` is called on yes, with the box still shown, so a
 * failure can be said beside it.
 */
export function askFirst(button: HTMLButtonElement, ask: () => { question: string; yes: string }, run: (box: HTMLElement) => void) {
  button.addEventListener('click', () => {
    const { question, yes: yesText } = ask()
    const yes = el('button', { className: 'danger', text: yesText, attrs: { type: 'button' } })
    const no = el('button', { text: 'Cancel', attrs: { type: 'button' } })
    const box = el('span', { className: 'confirm', attrs: { role: 'group', 'aria-label': question } }, [el('span', { text: question }), yes, no])
    yes.addEventListener('click', () => run(box))
    no.addEventListener('click', () => {
      box.replaceWith(button)
      button.focus()
    })
    button.replaceWith(box)
    no.focus()
  })
}
