/** A minimal typed event emitter: `on` answers the function that removes the handler. */
export function createEmitter<Events extends Record<string, unknown>>() {
  const handlers = new Map<keyof Events, Set<(payload: never) => void>>()
  return {
    on<K extends keyof Events>(type: K, handler: (payload: Events[K]) => void): () => void {
      const set = handlers.get(type) ?? new Set()
      set.add(handler)
      handlers.set(type, set)
      return () => set.delete(handler)
    },
    emit<K extends keyof Events>(type: K, payload: Events[K]) {
      for (const handler of [...(handlers.get(type) ?? [])]) (handler as (payload: Events[K]) => void)(payload)
    },
  }
}
