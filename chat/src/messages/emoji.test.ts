import { describe, expect, test } from 'bun:test'
import { isOneEmoji } from './emoji'

describe('the reaction emoji validator', () => {
  test('accepts single emoji of every kind: plain, with a presentation selector, skin tone, ZWJ family, flag, tag flag, keycap', () => {
    for (const emoji of ['👍', '❤️', '❤', '👍🏽', '👨‍👩‍👧‍👦', '🏳️‍🌈', '🇫🇷', '🏴󠁧󠁢󠁳󠁣󠁴󠁿', '1️⃣', '#️⃣', '🧑🏿‍🚀', '©️']) {
      expect({ emoji, ok: isOneEmoji(emoji) }).toEqual({ emoji, ok: true })
    }
  })

  test('refuses two emoji, text, emoji with text, lone modifiers or joiners, and odd regional indicators', () => {
    const bad = ['👍👍', '', 'a', 'ab', 'a👍', '👍a', ':+1:', '1', '#', '\u200D', '🏽', '🇫', '🇫🇷🇩', ' 👍', '👍 ', '\uD83D', 'é']
    for (const text of bad) expect({ text, ok: isOneEmoji(text) }).toEqual({ text, ok: false })
  })

  test('refuses anything longer than any real emoji sequence', () => {
    expect(isOneEmoji('👍' + '\u{1F3FD}'.repeat(40))).toBe(false)
  })
})
