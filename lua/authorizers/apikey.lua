-- apikey.lua - a Lua authorizer: API keys from the x-api-key header.
--
-- sluice calls handler(event, context) with a Lambda TOKEN authorizer
-- event (authorizationToken = the key) and expects what a Lambda
-- authorizer answers: an IAM-style policy with a principalId and a
-- context, or {isAuthorized = ...}. error("Unauthorized") makes it a 401.
-- Results are cached by sluice (cache_ttl_s), so this runs once per key.

local keys = {
  ["key-alice"] = { user = "alice", tier = "gold" },  -- every method
  ["key-bob"]   = { user = "bob",   tier = "free" },  -- GET only
}

function handler(event, context)
  local key = event.authorizationToken
  if key == "key-revoked" then
    error("Unauthorized")
  end
  if key == "key-loop" then  -- a broken authorizer: sluice stops it at timeout_ms
    while true do end
  end
  local who = keys[key]
  if not who then
    return { isAuthorized = false }
  end
  local resource = "arn:aws:execute-api:*:*:*/*/GET/*"
  if who.tier == "gold" then
    resource = "*"
  end
  return {
    principalId = who.user,
    policyDocument = {
      Version = "2012-10-17",
      Statement = { { Action = "execute-api:Invoke", Effect = "Allow", Resource = resource } },
    },
    context = { user = who.user, tier = who.tier },
  }
end
