-- event.lua - answers with the event it was given, so you can see what a
-- function behind sluice receives: an API Gateway proxy event, payload
-- 1.0 or 2.0 as the route says, with the verified JWT claims (or a Lambda
-- authorizer's context) under requestContext.authorizer.

function handler(event, context)
  return {
    statusCode = 200,
    headers = { ["content-type"] = "application/json" },
    body = sluice.json.encode(event),
  }
end
