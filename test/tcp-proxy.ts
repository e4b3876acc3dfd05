import type { Socket, TCPSocketListener } from 'bun'

/**
 * A TCP relay in front of a real server, so a test can cut the network to it (every open
 * connection dropped, new ones refused) and restore it, without stopping the shared server.
 */
export type TcpProxy = { port: number; cut(): void; restore(): void; stop(): void }

type Pair = { client: Socket<Pair>; upstream: Socket<Pair> | null; pending: Uint8Array[] }

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<Pair>()
  let open = true
  const listener: TCPSocketListener<Pair> = Bun.listen<Pair>({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      async open(client) {
        if (!open) return void client.terminate()
        const pair: Pair = { client, upstream: null, pending: [] }
        client.data = pair
        pairs.add(pair)
        try {
          pair.upstream = await Bun.connect<Pair>({
            hostname: targetHost,
            port: targetPort,
            data: pair,
            socket: {
              data: (_socket, chunk) => void pair.client.write(chunk),
              close: () => void pair.client.terminate(),
              error: () => void pair.client.terminate(),
            },
          })
          // `cut` ran while we were connecting: it could not see this upstream to close it.
          if (!pairs.has(pair)) return void pair.upstream.terminate()
          for (const chunk of pair.pending) pair.upstream.write(chunk)
          pair.pending = []
        } catch {
          client.end()
        }
      },
      data(client, chunk) {
        const pair = client.data
        if (pair.upstream === null) pair.pending.push(new Uint8Array(chunk))
        else pair.upstream.write(chunk)
      },
      close(client) {
        client.data?.upstream?.terminate()
        pairs.delete(client.data)
      },
      error(client) {
        client.data?.upstream?.terminate()
      },
    },
  })
  const proxy: TcpProxy = {
    port: listener.port,
    cut() {
      open = false
      for (const pair of pairs) {
        pair.client.terminate()
        pair.upstream?.terminate()
      }
      pairs.clear()
    },
    restore() {
      open = true
    },
    stop() {
      proxy.cut()
      listener.stop(true)
    },
  }
  return proxy
}
