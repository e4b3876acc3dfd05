import { describe, expect, test } from 'bun:test'
import { answerProblem, frameProblem } from './checks'

const JSON_TYPE = 'application/json; charset=utf-8'

describe('the fuzzer’s answer checks', () => {
  test('accept a success answer and an error in the contract’s shape', () => {
    expect(answerProblem(200, 'text/html', '<p>')).toBeNull()
    expect(answerProblem(422, JSON_TYPE, '{"error":"VALIDATION_FAILED","message":"bad","details":[{"field":"login","message":"x"}]}')).toBeNull()
  })

  test('refuse any 5xx, whatever its body', () => {
    expect(answerProblem(503, JSON_TYPE, '{"error":"DEPENDENCY_DOWN","message":"down"}')).toBe('status 503')
  })

  test('refuse an error that is not JSON, lacks a code or a message, or has malformed details', () => {
    expect(answerProblem(404, 'text/plain', 'NOT_FOUND')).toContain('content-type')
    expect(answerProblem(400, JSON_TYPE, '{"message":"x"}')).toContain('not an UPPER_SNAKE code')
    expect(answerProblem(400, JSON_TYPE, '{"error":"bad code","message":"x"}')).toContain('not an UPPER_SNAKE code')
    expect(answerProblem(400, JSON_TYPE, '{"error":"X","message":""}')).toContain('message')
    expect(answerProblem(400, JSON_TYPE, '{"error":"X","message":"m","details":[1]}')).toContain('detail')
  })

  test('accept server frames with a type and refuse error frames without a code', () => {
    expect(frameProblem('{"type":"ready","userId":"u"}')).toBeNull()
    expect(frameProblem('{"type":"error","code":"BAD_FRAME","message":"m"}')).toBeNull()
    expect(frameProblem('{"type":"error","message":"m"}')).toContain('code')
    expect(frameProblem('nope')).toContain('not JSON')
  })
})
