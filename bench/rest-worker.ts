/**
 * REST calls made on a thread of their own (a Worker), for bench/chat.ts's -changes row: its
 * receivers timestamp every frame on the main thread, and a `fetch` there (a few hundred
 * microseconds of client work each) would hold up the frames behind it and show as the
 * server's latency. Real clients that edit and react are other devices than the receivers.
 */
import { call } from '../scripts/api-client'

declare const self: Worker

export type RestRequest = { id: number; url: string; method: string; path: string; token: string; body?: unknown }
/** `ms`: from the call's start to its answer, on this thread. `status` 0: no answer (`error` says why). */
export type RestAnswer = { id: number; status: number; error: string; ms: number }

self.onmessage = async (event: MessageEvent<RestRequest>) => {
  const { id, url, method, path, token, body } = event.data
  const startedAt = performance.now()
  let answer: RestAnswer
  try {
    const { status, body: answered } = await call(url, method, path, { token, body })
    answer = { id, status, error: String(answered?.error ?? ''), ms: performance.now() - startedAt }
  } catch (error) {
    answer = { id, status: 0, error: error instanceof Error ? error.message : String(error), ms: 0 }
  }
  self.postMessage(answer)
}
