-- alias_set.lua - compare-and-set of one alias's state for a fleet of
-- sluice instances, and the notice that makes the others switch.
--
-- KEYS[1]  the alias's hash: {generation, state}
-- ARGV[1]  the generation the writer's change was made on
-- ARGV[2]  the new state (JSON: {"state":..., "config_def":...} or "null")
-- ARGV[3]  the channel every instance listens on
-- ARGV[4]  the notice, without the generation (it is appended)
--
-- Returns {1, new_generation} when the write took, {0, current_generation}
-- when another instance changed the alias first (nothing is written).
local current = tonumber(redis.call('HGET', KEYS[1], 'generation') or '0')
if current ~= tonumber(ARGV[1]) then
  return {0, current}
end
local generation = current + 1
redis.call('HSET', KEYS[1], 'generation', generation, 'state', ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4] .. generation)
return {1, generation}
