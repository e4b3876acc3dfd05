/**
 * Caddy writes one JSON object of about 1.5 KB per request (headers included), which buries
 * the services' own lines in a terminal. `bun run dev` shows this one-line form instead; log
 * files and containers keep the full JSON.
 */

type AccessEntry = {
  logger?: string
  request?: { method?: string; uri?: string }
  status?: number
  /** Seconds, as Caddy 2.6 writes it. */
  duration?: number
  resp_headers?: Record<string, string[] | undefined>
}

const ACCESS_LOGGER = 'http.log.access'
const REQUEST_ID_HEADER = 'X-Request-Id'

/** `GET /auth/health 200 1.2ms 6f1c…` for an access-log line; any other line as it is. */
export function shortAccessLine(line: string): string {
  if (!line.startsWith('{')) return line
  let entry: AccessEntry
  try {
    entry = JSON.parse(line) as AccessEntry
  } catch {
    return line
  }
  if (!entry.logger?.startsWith(ACCESS_LOGGER) || entry.request === undefined) return line
  const ms = typeof entry.duration === 'number' ? `${(entry.duration * 1000).toFixed(1)}ms` : '?ms'
  const requestId = entry.resp_headers?.[REQUEST_ID_HEADER]?.[0] ?? '-'
  return `${entry.request.method ?? '?'} ${entry.request.uri ?? '?'} ${entry.status ?? '?'} ${ms} ${requestId}`
}
