-- alias_init.lua - puts an instance's alias state into Redis when Redis
-- has none yet (a new fleet, or Redis lost its data), keeping the
-- instance's generation; an existing entry always wins.
--
-- KEYS[1]  the alias's hash
-- ARGV[1]  generation, ARGV[2] state (as in alias_set.lua)
--
-- Returns {1, generation} when written, {0, existing_generation} if not.
local current = redis.call('HGET', KEYS[1], 'generation')
if current then
  return {0, tonumber(current)}
end
redis.call('HSET', KEYS[1], 'generation', ARGV[1], 'state', ARGV[2])
return {1, tonumber(ARGV[1])}
