/** The few DOM helpers the views share. Text is always set as text, never parsed as HTML. */

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id)
  if (element === null) throw new Error(`#${id} is missing from index.html`)
  return element as T
}

type Props = { className?: string; text?: string; attrs?: Record<string, string> }

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, children: (Node | string)[] = []): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag)
  if (props.className !== undefined) element.className = props.className
  if (props.text !== undefined) element.textContent = props.text
  for (const [name, value] of Object.entries(props.attrs ?? {})) element.setAttribute(name, value)
  element.append(...children)
  return element
}

/** Text that screen readers read but nobody sees (e.g. "3 unread" beside a badge showing "3"). */
export function hiddenText(text: string): HTMLSpanElement {
  return el('span', { className: 'visually-hidden', text })
}

/** Says `text` through the page's polite live region, once. */
export function announce(text: string) {
  const region = byId('announcer')
  region.textContent = ''
  // A separate node per announcement, so the same words twice are read twice.
  region.append(el('p', { text }))
}
