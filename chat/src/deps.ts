import type { LeftReason, RoomEvent } from '@chat/common/chat-protocol'
import type { Sql } from '@chat/common/db'
import type { Logger } from '@chat/common/logger'
import type { Redis } from '@chat/common/redis'
import type { RevocationList } from '@chat/common/revocation'
import type { TokenVerifier } from '@chat/common/tokens'
import type { ChatConfig } from './config'
import type { ReplicaReads } from './replica'

/** What the REST side needs from the real-time side (implemented in realtime/). */
export type RealtimeHooks = {
  /** A membership ended (leave, removal, ban, deletion): every socket of that user, on every instance, gets `left{room, reason}` and drops the room. */
  membershipEnded(roomId: string, userId: string, reason: LeftReason): Promise<void>
  /** A membership began (join, addition, DM, invite): every socket of that user, on every instance, gets `room_added{room}`. */
  roomAdded(roomId: string, userId: string): Promise<void>
  /** A member's read marker moved (committed): the room's joined sockets get `receipt{room, userId, seq}`, coalesced per room. */
  receiptMoved(roomId: string, userId: string, seq: number): Promise<void>
  /** Members with at least one socket that joined the room, on any instance. */
  onlineUserIds(roomId: string): Promise<string[]>
  /**
   * Events just committed (by `appendEvents` in the caller's transaction) go to every socket
   * that joined their room, on every instance, like stored messages. Best effort: a lost
   * publish is caught up from Postgres by seq, so never call it before the commit.
   */
  publishEvents(events: RoomEvent[]): Promise<void>
}

/** Answers whether a user id belongs to an existing account (the user service owns accounts). */
export type UserDirectory = { exists(userId: string, requestId?: string): Promise<boolean | 'unavailable'> }

export type ChatDeps = {
  config: ChatConfig
  log: Logger
  sql: Sql
  /** Reads a streaming replica may answer (history, events, replay, search); `sql` for everything else. */
  reads: ReplicaReads
  /**
   * Message search's reads: on the primary through a pool of its own (SEARCH_POOL_SIZE
   * connections, each statement cancelled past SEARCH_STATEMENT_TIMEOUT_MS), so searches that
   * walk a big table neither run for long nor take the connections that store messages.
   */
  searchReads: ReplicaReads
  redis: Redis
  verifier: TokenVerifier
  revocations: RevocationList
  users: UserDirectory
  realtime: RealtimeHooks
}
