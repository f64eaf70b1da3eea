-- hello.lua - a first Lua function for sluice: echoes what it was given.
--
-- Works with both event formats (a route's "payload": "1.0" or "2.0").
-- `calls` is a global of this state: it counts the calls a warm state has
-- served, so x-calls-in-state shows state reuse (1 after a cold start).

local json = sluice.json

calls = 0

-- The method and path, wherever the event format keeps them.
local function method_and_path(event)
  if event.version == "2.0" then
    return event.requestContext.http.method, event.rawPath
  end
  return event.httpMethod, event.path
end

function handler(event, context)
  calls = calls + 1
  local method, path = method_and_path(event)
  local query = event.queryStringParameters or {}
  -- a binary body comes base64-encoded: echoed as it came, since JSON
  -- text cannot hold arbitrary bytes
  local body, body_length = event.body, event.body and #event.body or 0
  if body and event.isBase64Encoded then
    body_length = #sluice.base64.decode(body)
  end
  local echo = {
    message = "hello, " .. (query.name or "world"),
    payload = event.version or "1.0",
    method = method,
    path = path,
    body = body or json.null,
    body_base64 = event.isBase64Encoded == true,
    body_length = body_length,
    request_id = context.request_id,
    function_name = context.function_name,
    function_version = context.function_version,
    memory_limit_in_mb = context.memory_limit_in_mb,
    time_left = context.get_remaining_time_in_millis() > 0,
  }
  return {
    statusCode = 200,
    headers = {
      ["content-type"] = "application/json",
      ["x-calls-in-state"] = tostring(calls),
    },
    body = json.encode(echo),
  }
end
