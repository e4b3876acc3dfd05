import { expect } from 'bun:test'

/** Test-only helpers; the API calls themselves are in scripts/api-client.ts, which bench/ shares. */
export * from '../scripts/api-client'
import type { Answer } from '../scripts/api-client'

/** Asserts the contract's error shape and returns the code. */
export function expectError(answer: Answer, status: number, code?: string): string {
  const { error, message } = answer.body
  expect({ status: answer.status, error: typeof error, message: typeof message }).toEqual({ status, error: 'string', message: 'string' })
  if (code !== undefined) expect(error).toBe(code)
  return error
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
