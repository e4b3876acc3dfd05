import type { ApiClient } from '@chat/client/api'

/** A room of the user's own list, as `GET /chat/rooms?mine=true` describes it. */
export type Room = Awaited<ReturnType<ApiClient['listRooms']>>['items'][number]
export type Me = Awaited<ReturnType<ApiClient['getMe']>>
export type Member = Awaited<ReturnType<ApiClient['listMembers']>>['items'][number]
