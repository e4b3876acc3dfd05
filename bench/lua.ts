/**
 * wrk Lua scripts, written to a temporary folder at run time. Values are embedded as Lua
 * long strings, which need no escaping as long as they hold no `]==]` (and, used as a
 * table index, need spaces inside the brackets: `t[[==[` would open a long string).
 */

function luaString(value: string): string {
  if (value.includes(']==]')) throw new Error('value cannot be embedded in a Lua long string')
  return `[==[${value}]==]`
}

/** Gives each wrk thread its number (0, 1, …) as the global `id` before it starts. */
const THREAD_IDS = `
local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end
`

/** A fixed GET (wrk's default method) with extra headers; wrk sends it as is, with no Lua per request. */
export function staticRequestScript(headers: Record<string, string>): string {
  return Object.entries(headers).map(([name, value]) => `wrk.headers[ ${luaString(name)} ] = ${luaString(value)}\n`).join('')
}

/**
 * POSTs the given JSON bodies in turn, each thread starting at a different place in the
 * list. Requests are formatted once in `init`, so the per-request Lua cost is an index.
 */
export function rotatingBodiesScript(bodies: string[]): string {
  return `${THREAD_IDS}
local bodies = {
${bodies.map((body) => `  ${luaString(body)},`).join('\n')}
}
local requests = {}
local n = 0
function init(args)
  for i, body in ipairs(bodies) do
    requests[i] = wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body)
  end
  n = id * 7919
end
function request()
  n = n + 1
  return requests[(n % #requests) + 1]
end
`
}

/**
 * Refresh-token rotation under load: every token can be spent once, so each thread keeps
 * a queue of its own tokens, spends the oldest, and queues the one each answer returns.
 * The pools must hold more tokens than a thread has connections, or a thread runs dry and
 * sends a token that is refused (counted as non-2xx, never silently reused: a spent token
 * presented after the grace window would revoke its session).
 */
export function refreshRotationScript(poolsPerThread: string[][]): string {
  return `${THREAD_IDS}
local pools = {
${poolsPerThread.map((pool) => `  { ${pool.map(luaString).join(', ')} },`).join('\n')}
}
local queue, head, tail
local refusals_shown = 0
local exhausted_shown = false
function init(args)
  queue = pools[id + 1]
  head = 1
  tail = #queue + 1
end
function request()
  local token = "pool-exhausted"
  if head < tail then
    token = queue[head]
    queue[head] = nil
    head = head + 1
  elseif not exhausted_shown then
    exhausted_shown = true
    print("thread " .. id .. " ran out of refresh tokens")
  end
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, '{"refreshToken":"' .. token .. '"}')
end
function response(status, headers, body)
  if status == 200 then
    local token = body:match('"refreshToken"%s*:%s*"([^"]+)"')
    if token then
      queue[tail] = token
      tail = tail + 1
    end
  elseif refusals_shown < 3 then
    refusals_shown = refusals_shown + 1
    print("thread " .. id .. " got " .. status .. ": " .. body)
  end
end
`
}
