import { TypeCompiler } from '@sinclair/typebox/compiler'
import { ClientFrame, FrameRef } from '@chat/common/chat-protocol'
import { exceedsJsonDepth } from '@chat/common/json-depth'

/** One compiled checker per frame type, built once at start-up, so errors name the field. */
const checkers = new Map(
  ClientFrame.anyOf.map((schema) => [schema.properties.type.const as string, TypeCompiler.Compile(schema)] as const),
)

const checkRef = TypeCompiler.Compile(FrameRef)

export type ParsedFrame = { ok: true; frame: ClientFrame } | { ok: false; message: string; ref?: string | number }

/**
 * Accepts a frame as the socket received it: text holding one JSON object (a binary frame,
 * a Buffer, is refused like any non-object). `JSON.parse` of a megabyte of nested brackets
 * holds the instance for hundreds of milliseconds, so the depth is checked first, in one
 * linear scan.
 */
export function parseClientFrame(data: unknown, maxDepth: number): ParsedFrame {
  if (typeof data === 'string') {
    if (exceedsJsonDepth(data, maxDepth)) return { ok: false, message: 'Frames are JSON objects nested only a few levels deep' }
    try {
      data = JSON.parse(data)
    } catch {
      return { ok: false, message: 'Frames are JSON objects' }
    }
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return { ok: false, message: 'Frames are JSON objects' }
  const candidate = data as { type?: unknown; ref?: unknown }
  // Echoed only when it is a ref this protocol allows, so a bad frame cannot make us send back a megabyte.
  const ref = checkRef.Check(candidate.ref) ? (candidate.ref as string | number | undefined) : undefined
  const checker = typeof candidate.type === 'string' ? checkers.get(candidate.type) : undefined
  if (checker === undefined) return { ok: false, message: `Unknown frame type ${JSON.stringify(candidate.type ?? null)}`.slice(0, 200), ref }
  if (!checker.Check(data)) {
    const first = checker.Errors(data).First()
    return { ok: false, message: `${candidate.type}: ${first?.path || '/'} ${first?.message ?? 'is invalid'}`, ref }
  }
  return { ok: true, frame: withCanonicalIds(data as ClientFrame) }
}

/**
 * Room and message ids in lower case, as Postgres prints them: the hub's feeds, topics and
 * every socket's joined rooms are keyed by the id's text, so another spelling of a room
 * must not be another room.
 */
function withCanonicalIds(frame: ClientFrame): ClientFrame {
  // The frame was just parsed and is ours: changed in place, no copy per frame.
  if (frame.type === 'auth') return frame
  frame.room = frame.room.toLowerCase()
  if (frame.type === 'send' && frame.replyTo !== undefined) frame.replyTo = frame.replyTo.toLowerCase()
  return frame
}
