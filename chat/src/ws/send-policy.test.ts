import { describe, expect, test } from 'bun:test'
import { bodyProblem, createSendPolicy } from './send-policy'

const PACE = { SEND_BURST: 1, SEND_PER_SECOND: 1, JOIN_BURST: 2, JOIN_PER_SECOND: 1 }

describe('send policy', () => {
  test('a flood is accepted up to the burst, then warned once, refused for the grace, then closed', () => {
    const policy = createSendPolicy({ ...PACE, SEND_BURST: 3 }, 0)
    const verdicts = Array.from({ length: 105 }, () => policy.checkSend(0))
    expect(verdicts.slice(0, 3)).toEqual(['accept', 'accept', 'accept'])
    expect(verdicts[3]).toBe('warn')
    expect(verdicts.slice(4, 104).every((v) => v === 'refuse')).toBe(true)
    expect(verdicts[104]).toBe('close')
  })

  test('a sender that slowed down after a warning is warned again before a later close', () => {
    const policy = createSendPolicy(PACE, 0)
    expect([policy.checkSend(0), policy.checkSend(0)]).toEqual(['accept', 'warn'])
    expect(policy.checkSend(2000)).toBe('accept')
    expect(policy.checkSend(2000)).toBe('warn')
  })

  test('joins and leaves share a bucket of their own: sends are not held back by them', () => {
    const policy = createSendPolicy(PACE, 0)
    expect([policy.allowsJoinOrLeave(0), policy.allowsJoinOrLeave(0), policy.allowsJoinOrLeave(0)]).toEqual([true, true, false])
    expect(policy.checkSend(0)).toBe('accept')
    expect(policy.allowsJoinOrLeave(1000)).toBe(true)
  })

  test('typing is forwarded at most once a second per room', () => {
    const policy = createSendPolicy(PACE, 0)
    expect(policy.allowsTyping('a', 0)).toBe(true)
    expect(policy.allowsTyping('a', 500)).toBe(false)
    expect(policy.allowsTyping('b', 500)).toBe(true)
    expect(policy.allowsTyping('a', 1000)).toBe(true)
  })
})

describe('message bodies', () => {
  test('emoji and other surrogate pairs pass; a lone surrogate, NUL, empty and overlong bodies are refused', () => {
    expect(bodyProblem('hello 😀', 10)).toBeNull()
    expect(bodyProblem('\uD83D', 10)).toContain('surrogate')
    expect(bodyProblem('a\uDE00b', 10)).toContain('surrogate')
    expect(bodyProblem('a\u0000', 10)).toContain('NUL')
    expect(bodyProblem('', 10)).toContain('empty')
    expect(bodyProblem('x'.repeat(11), 10)).toContain('longer')
    expect(bodyProblem('😀'.repeat(10), 10)).toBeNull()
  })
})
