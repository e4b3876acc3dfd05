import { TypeCompiler } from '@sinclair/typebox/compiler'
import { ClientFrame } from '@chat/common/chat-protocol'

/** One compiled checker per frame type, built once at start-up, so errors name the field. */
const checkers = new Map(
  ClientFrame.anyOf.map((schema) => [schema.properties.type.const as string, TypeCompiler.Compile(schema)] as const),
)

export type ParsedFrame = { ok: true; frame: ClientFrame } | { ok: false; message: string; ref?: string | number }

/** Accepts what Elysia hands over (already JSON-parsed when it looked like JSON). */
export function parseClientFrame(data: unknown): ParsedFrame {
  if (typeof data === 'string') {
    try {
      data = JSON.parse(data)
    } catch {
      return { ok: false, message: 'Frames are JSON objects' }
    }
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return { ok: false, message: 'Frames are JSON objects' }
  const candidate = data as { type?: unknown; ref?: unknown }
  const ref = typeof candidate.ref === 'string' || typeof candidate.ref === 'number' ? candidate.ref : undefined
  const checker = typeof candidate.type === 'string' ? checkers.get(candidate.type) : undefined
  if (checker === undefined) return { ok: false, message: `Unknown frame type ${JSON.stringify(candidate.type ?? null)}`.slice(0, 200), ref }
  if (!checker.Check(data)) {
    const first = checker.Errors(data).First()
    return { ok: false, message: `${candidate.type}: ${first?.path || '/'} ${first?.message ?? 'is invalid'}`, ref }
  }
  return { ok: true, frame: data as ClientFrame }
}
