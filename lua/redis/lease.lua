-- lease.lua - who drives a deployment: one instance holds the alias's
-- lease, renewing it; when it stops renewing (it died), the lease expires
-- and the next instance to ask takes it over.
--
-- KEYS[1]  the lease key
-- ARGV[1]  the asking instance's id
-- ARGV[2]  lease time, milliseconds
--
-- Returns 1 when the caller holds the lease now, 0 when another does.
local holder = redis.call('GET', KEYS[1])
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
