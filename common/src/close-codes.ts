/**
 * Close codes of the chat WebSocket protocol. A module of its own, without dependencies,
 * so browser bundles can import it without pulling in Elysia.
 */
export const CLOSE = {
  SERVICE_RESTART: 1012,
  FRAME_TOO_LARGE: 1009,
  BAD_FRAMES: 4400,
  UNAUTHENTICATED: 4401,
  REVOKED: 4403,
  AUTH_TIMEOUT: 4408,
  RATE_LIMITED: 4429,
} as const
