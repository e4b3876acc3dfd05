// The replica helper lives in scripts/ so that bench/ can start one without importing tests.
export * from '../scripts/postgres-replica'
