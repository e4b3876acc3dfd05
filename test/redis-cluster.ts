import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnChild, type Child } from '../scripts/child'
import { findFreePorts } from '../scripts/net'
import { waitUntil } from './wait'

/**
 * How long a master may be silent before its replica takes over. Redis' default is 15 s;
 * a test that kills a master wants the promotion within a couple of seconds.
 */
const NODE_TIMEOUT_MS = 1000
const HOST = '127.0.0.1'
const WORK_DIR_PREFIX = 'chat-redis-cluster-'

export type ClusterNode = { port: number; child: Child }

export type RedisCluster = {
  /** Seeds for REDIS_CLUSTER_NODES: every node, `host:port` comma-separated. */
  readonly seeds: string
  nodes: ClusterNode[]
  /** Runs `redis-cli` against one node and returns its output (trimmed). */
  cli(port: number, ...args: string[]): Promise<string>
  /** One command to one node over a connection kept open (no process per call, for polling); rejects when the node is down. */
  send(port: number, command: string, args: string[]): Promise<unknown>
  /** The port of the master serving `key`'s slot (channels count like keys for SPUBLISH). */
  masterOf(key: string): Promise<number>
  /** SIGKILL one node, as a crash would. */
  kill(port: number): Promise<void>
  /** Resolves once every slot is served again and the cluster says `ok`, as seen from `port`. */
  waitHealthy(port: number, timeoutMs?: number): Promise<void>
  stop(): Promise<void>
}

/**
 * A real Redis Cluster for a test, from the machine's `redis-server` and `redis-cli`:
 * `masters` masters with one replica each on free loopback ports, no persistence, data in
 * a temporary folder. The processes go through scripts/child.ts, so they die with the test
 * process even when it is killed. Call `stop` in `afterAll`.
 */
export async function startRedisCluster(options: { masters?: number } = {}): Promise<RedisCluster> {
  const count = (options.masters ?? 3) * 2
  const ports = await findFreePorts(count)
  const dir = await mkdtemp(join(tmpdir(), WORK_DIR_PREFIX))
  const nodes: ClusterNode[] = []

  const cli = async (port: number, ...args: string[]) => {
    const proc = Bun.spawn(['redis-cli', '-h', HOST, '-p', String(port), ...args], { stdout: 'pipe', stderr: 'pipe' })
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
    if (code !== 0) throw new Error(`redis-cli ${args.join(' ')} on ${port} exited ${code}: ${err || out}`)
    return out.trim()
  }
  const connections = new Map<number, Bun.RedisClient>()
  const send = async (port: number, command: string, args: string[]) => {
    let client = connections.get(port)
    if (client === undefined) {
      client = new Bun.RedisClient(`redis://${HOST}:${port}`, { autoReconnect: false, connectionTimeout: 1000 })
      connections.set(port, client)
    }
    try {
      return await client.send(command, args)
    } catch (error) {
      connections.delete(port)
      client.close()
      throw error
    }
  }
  const stop = async () => {
    for (const client of connections.values()) client.close()
    await Promise.all(nodes.map((node) => node.child.stop('SIGKILL')))
    await rm(dir, { recursive: true, force: true })
  }

  try {
    for (const port of ports) {
      const nodeDir = join(dir, String(port))
      await mkdir(nodeDir)
      const child = spawnChild({
        name: `redis-${port}`,
        cwd: nodeDir,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        output: { kind: 'files', dir },
        cmd: [
          'redis-server',
          '--port', String(port),
          '--bind', HOST,
          '--cluster-enabled', 'yes',
          '--cluster-config-file', join(nodeDir, 'nodes.conf'),
          '--cluster-node-timeout', String(NODE_TIMEOUT_MS),
          '--dir', nodeDir,
          '--save', '',
          '--appendonly', 'no',
          // A replica can only take over once it has synced; Redis waits 5 s by default before
          // the first (diskless) sync in case more replicas ask.
          '--repl-diskless-sync-delay', '0',
        ],
      })
      nodes.push({ port, child })
    }
    for (const { port } of nodes) {
      await waitUntil(() => cli(port, 'ping').then((answer) => answer === 'PONG', () => false), `redis-server on ${port} answers`)
    }
    await cli(ports[0], '--cluster', 'create', ...ports.map((port) => `${HOST}:${port}`), '--cluster-replicas', '1', '--cluster-yes')
  } catch (error) {
    await stop()
    throw error
  }

  const cluster: RedisCluster = {
    seeds: ports.map((port) => `${HOST}:${port}`).join(','),
    nodes,
    cli,
    send,
    async masterOf(key) {
      const live = nodes.find((node) => isAlive(node.child))!
      const slot = Number(await cli(live.port, 'cluster', 'keyslot', key))
      const port = masterServing(await cli(live.port, 'cluster', 'nodes'), slot)
      if (port === null) throw new Error(`no live master serves slot ${slot}`)
      return port
    },
    async kill(port) {
      await nodes.find((node) => node.port === port)!.child.stop('SIGKILL')
    },
    async waitHealthy(port, timeoutMs = 10_000) {
      await waitUntil(
        async () => {
          const info = await cli(port, 'cluster', 'info').catch(() => '')
          return /cluster_state:ok/.test(info) && /cluster_slots_ok:16384/.test(info)
        },
        { message: `the cluster is healthy again as ${port} sees it`, timeoutMs, intervalMs: 100 },
      )
    },
    stop,
  }
  try {
    await cluster.waitHealthy(ports[0], 20_000)
    // Every replica synced, so the failover of any master is possible from the first moment.
    for (const { port } of nodes) {
      await waitUntil(
        async () => {
          const info = await cli(port, 'info', 'replication')
          return info.includes('role:master') || info.includes('master_link_status:up')
        },
        { message: `the replica on ${port} has synced`, timeoutMs: 20_000, intervalMs: 100 },
      )
    }
  } catch (error) {
    await stop()
    throw error
  }
  return cluster
}

const isAlive = (child: Child) => child.proc.exitCode === null && child.proc.signalCode === null

/**
 * From CLUSTER NODES (`<id> <host:port@bus> <flags> <master> <ping> <pong> <epoch> <link>
 * <slot ranges…>` per line): the port of the healthy master whose ranges hold `slot`.
 */
function masterServing(clusterNodes: string, slot: number): number | null {
  for (const line of clusterNodes.split('\n')) {
    const [, address, flags, , , , , , ...ranges] = line.trim().split(' ')
    if (address === undefined || !flags.split(',').includes('master') || flags.includes('fail')) continue
    const holds = ranges.some((range) => {
      const [from, to = from] = range.split('-').map(Number)
      return from <= slot && slot <= to
    })
    if (holds) return Number(address.split('@')[0].split(':').at(-1))
  }
  return null
}
