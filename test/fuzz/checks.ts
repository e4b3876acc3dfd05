/**
 * What every answer of the API must satisfy, whatever was sent: the properties the fuzzer
 * checks. Pure, so they are unit-tested beside the fuzzer (checks.test.ts).
 */

const ERROR_CODE = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/

/** Why an HTTP answer breaks the contract's error rules, or null if it does not. */
export function answerProblem(status: number, contentType: string | null, text: string): string | null {
  if (status >= 500) return `status ${status}`
  if (status < 400) return null
  if (!(contentType ?? '').toLowerCase().startsWith('application/json')) return `${status} with content-type ${JSON.stringify(contentType)}, not the JSON error shape`
  return errorShapeProblem(text, 'error', status)
}

/** The contract's error body: `{error: CODE, message, details?: [{field, message}]}` and nothing else. */
export function errorShapeProblem(text: string, codeField: 'error' | 'code', status?: number): string | null {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    return `${status ?? 'frame'}: body is not JSON: ${JSON.stringify(text.slice(0, 120))}`
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return `${status ?? 'frame'}: body is not an object`
  const record = body as Record<string, unknown>
  const code = record[codeField]
  if (typeof code !== 'string' || !ERROR_CODE.test(code)) return `${status ?? 'frame'}: ${codeField} is not an UPPER_SNAKE code: ${JSON.stringify(code)}`
  if (typeof record.message !== 'string' || record.message === '') return `${status ?? 'frame'}: message is not a non-empty string`
  if (record.details !== undefined) {
    const details = record.details
    if (!Array.isArray(details)) return `${status ?? 'frame'}: details is not an array`
    const bad = details.find((d) => typeof d !== 'object' || d === null || typeof d.field !== 'string' || typeof d.message !== 'string')
    if (bad !== undefined) return `${status ?? 'frame'}: a detail is not {field, message}: ${JSON.stringify(bad).slice(0, 120)}`
  }
  return null
}

/** Server frames are JSON objects with a `type`; `error` frames carry the code and message. */
export function frameProblem(data: unknown): string | null {
  if (typeof data !== 'string') return 'a binary frame from the server'
  let frame: unknown
  try {
    frame = JSON.parse(data)
  } catch {
    return `a server frame that is not JSON: ${JSON.stringify(data.slice(0, 120))}`
  }
  if (typeof frame !== 'object' || frame === null || typeof (frame as { type?: unknown }).type !== 'string') return `a server frame without a type: ${data.slice(0, 120)}`
  return (frame as { type: string }).type === 'error' ? errorShapeProblem(data, 'code') : null
}
