/** A WebSocket test client that records every frame and lets a test wait for the one it expects. */

export type Frame = Record<string, any>
export type SocketClient = {
  ws: WebSocket
  frames: Frame[]
  send(frame: unknown): void
  sendRaw(data: string): void
  /** Resolves with the first recorded frame matching `match`, whether it came before the call or comes later. */
  next(match: (frame: Frame) => boolean, timeoutMs?: number): Promise<Frame>
  /**
   * Waits until `count` frames match, returning the first `count` in arrival order. Rejects
   * after `timeoutMs`, or at once when the socket closes with fewer (no more can come).
   */
  collect(match: (frame: Frame) => boolean, count: number, timeoutMs?: number): Promise<Frame[]>
  closed: Promise<{ code: number; reason: string }>
  close(): void
}

export function wsUrl(httpUrl: string): string {
  return httpUrl.replace(/^http/, 'ws') + '/chat/ws'
}

export async function openSocket(httpUrl: string, options: { token?: string; origin?: string } = {}): Promise<SocketClient> {
  const headers: Record<string, string> = {}
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
  if (options.origin !== undefined) headers.origin = options.origin
  const ws = new WebSocket(wsUrl(httpUrl), { headers } as never)
  const frames: Frame[] = []
  const waiters = new Set<() => void>()
  let closedWith: { code: number; reason: string } | null = null
  ws.onmessage = (event) => {
    frames.push(JSON.parse(String(event.data)))
    for (const wake of [...waiters]) wake()
  }
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.onclose = (event) => {
      closedWith = { code: event.code, reason: event.reason }
      resolve(closedWith)
      for (const wake of [...waiters]) wake()
    }
  })
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve()
    ws.onerror = () => reject(new Error('WebSocket failed to open'))
    closed.then(({ code }) => reject(new Error(`WebSocket closed before opening (${code})`)))
  })

  const collect = (match: (frame: Frame) => boolean, count: number, timeoutMs = 5000) =>
    new Promise<Frame[]>((resolve, reject) => {
      const check = () => {
        const found = frames.filter(match)
        if (found.length >= count) {
          cleanup()
          resolve(found.slice(0, count))
        } else if (closedWith !== null) {
          cleanup()
          const { code, reason } = closedWith
          reject(new Error(`socket closed (${code}, ${JSON.stringify(reason)}) with ${found.length} of ${count} frames: ${JSON.stringify(frames.slice(-5))}`))
        }
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new Error(`timed out waiting for ${count} frames; have ${frames.filter(match).length}: ${JSON.stringify(frames.slice(-5))}`))
      }, timeoutMs)
      const cleanup = () => {
        clearTimeout(timer)
        waiters.delete(check)
      }
      waiters.add(check)
      check()
    })

  return {
    ws,
    frames,
    send: (frame) => ws.send(JSON.stringify(frame)),
    sendRaw: (data) => ws.send(data),
    next: async (match, timeoutMs) => (await collect(match, 1, timeoutMs))[0],
    collect,
    closed,
    close: () => ws.close(),
  }
}

/** Opens a socket authenticated at the upgrade and waits for `ready`. */
export async function connect(httpUrl: string, token: string): Promise<SocketClient> {
  const client = await openSocket(httpUrl, { token })
  await client.next((f) => f.type === 'ready')
  return client
}

let joinCounter = 0

export async function joinRoom(client: SocketClient, room: string, since?: number): Promise<Frame> {
  // Short and unique: the protocol allows refs of up to 64 characters.
  const ref = `join-${++joinCounter}`
  client.send({ type: 'join', room, ref, ...(since === undefined ? {} : { since }) })
  const answer = await client.next((f) => f.ref === ref)
  if (answer.type !== 'joined') throw new Error(`join failed: ${JSON.stringify(answer)}`)
  return answer
}
