-- figures_add.lua - adds one instance's request figures of a function
-- version (since its last report) to the fleet's totals, which the
-- instance driving a deployment reads to decide on a rollback.
--
-- KEYS[1]  the version's hash of counters
-- ARGV     field, increment, field, increment, ...
local n = 0
for i = 1, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
  n = n + 1
end
return n
