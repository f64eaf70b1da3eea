-- orders_v1.lua - version 1 of the demo "orders" function: an order as
-- stored, prices in cents.

local json = sluice.json

local ORDERS = {
  ["1"] = { id = "1", item = "coffee beans", quantity = 2, price_cents = 1450 },
  ["2"] = { id = "2", item = "grinder", quantity = 1, price_cents = 8900 },
}

local function answer(status, value)
  return {
    statusCode = status,
    headers = { ["content-type"] = "application/json" },
    body = json.encode(value),
  }
end

function handler(event, context)
  local id = event.pathParameters and event.pathParameters.id
  local order = id and ORDERS[id]
  if not order then
    return answer(404, { message = "no order " .. tostring(id) })
  end
  return answer(200, { version = "1", order = order })
end
