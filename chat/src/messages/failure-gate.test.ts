import { describe, expect, test } from 'bun:test'
import { createFailureGate } from './failure-gate'

describe('failure gate of the message store', () => {
  test('admits everything while nothing has failed', () => {
    const gate = createFailureGate(1000)
    expect([gate.admits(0), gate.admits(1), gate.admits(2)]).toEqual([true, true, true])
  })

  test('refuses during the back-off after a failure, then admits exactly one probe', () => {
    const gate = createFailureGate(1000)
    gate.failed(0)
    expect(gate.admits(999)).toBe(false)
    expect(gate.admits(1000)).toBe(true)
    expect(gate.admits(1001)).toBe(false)
    expect(gate.admits(5000)).toBe(false)
  })

  test('a successful probe opens the gate; a failed one starts another back-off', () => {
    const gate = createFailureGate(1000)
    gate.failed(0)
    gate.admits(1000)
    gate.failed(1500)
    expect(gate.admits(2400)).toBe(false)
    expect(gate.admits(2500)).toBe(true)
    gate.succeeded()
    expect([gate.admits(2501), gate.admits(2502)]).toEqual([true, true])
  })
})
