import type { Message } from '@chat/common/chat-protocol'

/**
 * The shapes of issue 9's routes and frames (CONTRACT.md, "Chat: one event stream per
 * room"), as the web client reads them. Fields the contract adds to a message are optional
 * here: a server may leave out what is unset.
 */

export type Role = 'owner' | 'admin' | 'member'
export type MemberChange = 'joined' | 'left' | 'added' | 'removed' | 'banned' | 'unbanned' | 'role'
export type Reaction = { emoji: string; count: number; me: boolean }

/** A message in its current state: history answers these, the `message` frame a new one. */
export type TimelineMessage = Message & {
  replyTo?: string | null
  editedAt?: string | null
  deleted?: boolean
  reactions?: Reaction[]
}

type EventBase = { room: string; seq: number; actorId: string; createdAt: string }
/** Every change to a room's timeline other than a new message (the `event` frame). */
export type RoomEvent = EventBase &
  (
    | { kind: 'edit'; target: string; data: { body: string } }
    | { kind: 'delete'; target: string; data: Record<string, never> }
    | { kind: 'reaction'; target: string; data: { emoji: string; added: boolean } }
    | { kind: 'member'; target?: undefined; data: { userId: string; change: MemberChange; role?: Role } }
    | { kind: 'room'; target?: undefined; data: { name?: string; topic?: string } }
  )

export type Member = { userId: string; role: Role; joinedAt: string }
export type Receipt = { userId: string; seq: number }
export type Invite = { code: string; expiresAt: string; maxUses: number | null }
/** A page of `GET /chat/search`: messages, newest first. */
export type SearchPage = { items: TimelineMessage[]; nextCursor: string | null }
