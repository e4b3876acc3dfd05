/**
 * Talking to a stack the way an API client would: raw calls, and registering and logging in
 * accounts. Used by the tests (through test/client.ts) and by bench/.
 */

export type Json = Record<string, any>
export type Answer = { status: number; body: Json; headers: Headers }

export async function call(baseUrl: string, method: string, path: string, options: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers }
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
  let body: string | undefined = options.raw
  if (options.body !== undefined) body = JSON.stringify(options.body)
  if (body !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json'
  const response = await fetch(baseUrl + path, { method, headers, body })
  const text = await response.text()
  let parsed: Json = {}
  try {
    parsed = text ? JSON.parse(text) : {}
  } catch {
    parsed = { text }
  }
  return { status: response.status, body: parsed, headers: response.headers }
}

export type Account = { id: string; username: string; email: string; password: string }
export type Tokens = { accessToken: string; refreshToken: string; sessionId: string; expiresIn: number; tokenType: string }

let counter = 0
export function uniqueName(prefix = 'user'): string {
  counter += 1
  return `${prefix}_${Date.now().toString(36)}_${counter}_${Math.random().toString(36).slice(2, 6)}`
}

/** Fails with the answer in the message, so a test or a bench shows why. */
function expectStatus(answer: Answer, status: number, what: string) {
  if (answer.status !== status) throw new Error(`${what} answered ${answer.status}, expected ${status}: ${JSON.stringify(answer.body)}`)
}

export async function register(baseUrl: string, overrides: Partial<Omit<Account, 'id'>> & { displayName?: string } = {}): Promise<Account> {
  const username = overrides.username ?? uniqueName()
  const account = { username, email: overrides.email ?? `${username}@example.com`, password: overrides.password ?? 'correct horse battery staple' }
  const answer = await call(baseUrl, 'POST', '/users', { body: { ...account, ...(overrides.displayName ? { displayName: overrides.displayName } : {}) } })
  expectStatus(answer, 201, 'POST /users')
  return { ...account, id: answer.body.id }
}

export async function login(baseUrl: string, account: Pick<Account, 'username' | 'password'>, headers?: Record<string, string>): Promise<Tokens> {
  const answer = await call(baseUrl, 'POST', '/auth/login', { body: { login: account.username, password: account.password }, headers })
  expectStatus(answer, 200, 'POST /auth/login')
  return answer.body as Tokens
}
