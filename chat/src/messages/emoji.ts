/** Longer than any emoji sequence Unicode defines (the longest ZWJ families and tag flags are under 40 UTF-16 units). */
export const EMOJI_MAX_LENGTH = 64

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' })

/** A flag: two regional indicators. */
const FLAG = /^\p{Regional_Indicator}{2}$/u
/** A keycap: a digit, # or *, an optional emoji presentation selector, the enclosing keycap. */
const KEYCAP = /^[0-9#*]\uFE0F?\u20E3$/u
/**
 * Everything else: pictographs joined or modified by what emoji sequences use (ZWJ,
 * variation selectors, skin tones, tag characters for subdivision flags). Letters, digits
 * and other text never appear, so "a😀" fails even when a segmenter glued it together.
 */
const PICTOGRAPHIC_SEQUENCE = /^(?:\p{Extended_Pictographic}|\p{Emoji_Modifier}|\u200D|\uFE0F|\uFE0E|[\u{E0020}-\u{E007F}])+$/u
const HAS_PICTOGRAPH = /\p{Extended_Pictographic}/u

/**
 * Whether `text` is exactly one emoji: one grapheme cluster (as Intl.Segmenter cuts text,
 * which follows Unicode's extended grapheme rules) that is a flag, a keycap, or a
 * pictographic sequence. A reaction key, so it is also bounded in length.
 */
export function isOneEmoji(text: string): boolean {
  if (text.length === 0 || text.length > EMOJI_MAX_LENGTH || !text.isWellFormed()) return false
  const segments = graphemes.segment(text)[Symbol.iterator]()
  const first = segments.next()
  if (first.done || first.value.segment !== text) return false
  if (FLAG.test(text) || KEYCAP.test(text)) return true
  return PICTOGRAPHIC_SEQUENCE.test(text) && HAS_PICTOGRAPH.test(text)
}
