// The WebSocket client lives in scripts/ so that bench/ can use it without importing tests.
export * from '../scripts/ws-client'
