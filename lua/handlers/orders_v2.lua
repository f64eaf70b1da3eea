-- orders_v2.lua - version 2 of the demo "orders" function: the same
-- orders, now with a computed total and its currency, and the list of all
-- orders at /orders. A canary of it against orders_v1.lua shows which
-- version answered by the shape of the body.

local json = sluice.json

local ORDERS = {
  { id = "1", item = "coffee beans", quantity = 2, price_cents = 1450 },
  { id = "2", item = "grinder", quantity = 1, price_cents = 8900 },
}

local function with_total(o)
  return {
    id = o.id,
    item = o.item,
    quantity = o.quantity,
    total = { amount = o.quantity * o.price_cents / 100, currency = "EUR" },
  }
end

local function answer(status, value)
  return {
    statusCode = status,
    headers = { ["content-type"] = "application/json", ["x-orders-schema"] = "2" },
    body = json.encode(value),
  }
end

function handler(event, context)
  local id = event.pathParameters and event.pathParameters.id
  if not id then
    local all = {}
    for i, o in ipairs(ORDERS) do
      all[i] = with_total(o)
    end
    return answer(200, { version = "2", orders = all })
  end
  for _, o in ipairs(ORDERS) do
    if o.id == id then
      return answer(200, { version = "2", order = with_total(o) })
    end
  end
  return answer(404, { version = "2", message = "no order " .. id })
end
