/**
 * Baseline: the least a Bun HTTP server can do for a request, with a body the size of a
 * health answer. Run as its own process so it never shares an event loop with the
 * benchmark or the services.
 */
const port = Number(process.env.PORT)
if (!Number.isInteger(port) || port <= 0) {
  console.error('bare-server: PORT must be a port number')
  process.exit(1)
}

const body = JSON.stringify({ status: 'ok', service: 'bare' })

Bun.serve({
  port,
  hostname: '127.0.0.1',
  fetch: () => new Response(body, { headers: { 'content-type': 'application/json' } }),
})

process.on('SIGTERM', () => process.exit(0))
