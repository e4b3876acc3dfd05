type Level = 'debug' | 'info' | 'warn' | 'error'
const LEVEL_RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export type Logger = {
  [L in Level]: (msg: string, fields?: Record<string, unknown>) => void
}

/** One JSON object per line on stdout. Never pass tokens, passwords or bodies in `fields`. */
export function createLogger(service: string, level: Level = 'info', base: Record<string, unknown> = {}): Logger {
  const min = LEVEL_RANK[level]
  const write = (lvl: Level) => (msg: string, fields?: Record<string, unknown>) => {
    if (LEVEL_RANK[lvl] < min) return
    const line = { time: new Date().toISOString(), level: lvl, service, msg, ...base, ...fields }
    process.stdout.write(JSON.stringify(line, errorReplacer) + '\n')
  }
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') }
}

function errorReplacer(_key: string, value: unknown) {
  if (value instanceof Error) return { name: value.name, message: value.message, code: (value as { code?: unknown }).code }
  return value
}
