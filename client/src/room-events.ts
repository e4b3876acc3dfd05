import type { Message } from './generated-types'

/**
 * The shapes of issue 9's routes and frames (CONTRACT.md, "Chat: one event stream per
 * room") under the names the clients use. Messages and events are the wire types printed
 * from the shared protocol (generated-types.ts); the rest are the REST answers.
 */

export type { RoomEvent } from './generated-types'
export type Role = 'owner' | 'admin' | 'member'
export type MemberChange = 'joined' | 'left' | 'added' | 'removed' | 'banned' | 'unbanned' | 'role'
export type Reaction = NonNullable<Message['reactions']>[number]
/** A message in its current state: history answers these, the `message` frame a new one. */
export type TimelineMessage = Message

export type Member = { userId: string; role: Role; joinedAt: string }
export type Receipt = { userId: string; seq: number }
export type Invite = { code: string; expiresAt: string; maxUses: number | null }
/** A page of `GET /chat/search`: messages, newest first. */
export type SearchPage = { items: TimelineMessage[]; nextCursor: string | null }
