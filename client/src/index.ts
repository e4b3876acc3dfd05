/**
 * `@chat/client`: the typed REST client, the chat WebSocket with its delivery guarantees,
 * and the per-room state a consumer shows. Everything here uses only the public API.
 */
export { createApiClient, type ApiClient, type ApiClientOptions, type LogoutScope, type RoomWithTopic } from './api'
export { ApiError, ChatSocketError, isSessionEnded, NETWORK_ERROR, NOT_LOGGED_IN, type ErrorDetail } from './errors'
export type { ClientFrame, LeftReason, Message, ServerFrame } from './generated-types'
export { CLOSE } from './reconnect'
export type { Invite, Member, MemberChange, Reaction, Receipt, Role, RoomEvent, SearchPage, TimelineMessage } from './room-events'
export { addHistory, addPastEvents, applyToRoom, createRoomState, trackRooms, type Notice, type PastItem, type RoomState, type RoomTracker, type StreamItem } from './room-state'
export { createChatSocket, createClientId, type Ack, type ChatSocket, type ChatSocketEvents, type ChatSocketOptions, type ChatSocketStatus } from './socket'
export { createMemoryTokenStore, toAccessToken, toStoredTokens, type AccessToken, type StoredTokens, type TokenStore } from './tokens'
