import { describe, expect, test } from 'bun:test'
import { EventEmitter } from 'node:events'
import { onConnectionChange, redisTarget, type Redis } from './redis'

/** Stand-ins that emit what node-redis emits; a cluster client is recognised by its `masters`. */
const singleClient = () => new EventEmitter() as unknown as Redis & EventEmitter
const clusterClient = () => Object.assign(new EventEmitter(), { masters: [] }) as unknown as Redis & EventEmitter

function watch(redis: Redis) {
  const seen: string[] = []
  onConnectionChange(redis, { lost: () => void seen.push('lost'), restored: () => void seen.push('restored') })
  return seen
}

describe('onConnectionChange', () => {
  test('a single client: the first ready is no restore; an error then ready is a loss and one restore', () => {
    const redis = singleClient()
    const seen = watch(redis)
    redis.emit('ready')
    redis.emit('error', new Error('gone'))
    redis.emit('error', new Error('still gone'))
    redis.emit('ready')
    redis.emit('ready')
    expect(seen).toEqual(['lost', 'lost', 'restored'])
  })

  test('a cluster client: a node error, then any node ready, is a loss and one restore; a slot-map error counts as a loss', () => {
    const redis = clusterClient()
    const seen = watch(redis)
    redis.emit('node-ready', { host: '127.0.0.1', port: 7000 })
    redis.emit('node-error', new Error('refused'), { host: '127.0.0.1', port: 7001 })
    redis.emit('node-ready', { host: '127.0.0.1', port: 7004 })
    redis.emit('error', new Error('no root node answers'))
    redis.emit('node-ready', { host: '127.0.0.1', port: 7004 })
    expect(seen).toEqual(['lost', 'restored', 'lost', 'restored'])
  })
})

describe('redisTarget', () => {
  test('seeds may mix host:port and URLs, with spaces after the commas', () => {
    const target = redisTarget({ REDIS_URL: 'redis://unused:6379', REDIS_CLUSTER_NODES: 'a:7000 , rediss://b:7001', REDIS_CLUSTER_TOPOLOGY_REFRESH_MS: 500 })
    expect(target.kind === 'cluster' && target.seeds.map((seed) => seed.href)).toEqual(['redis://a:7000', 'rediss://b:7001'])
  })
})
