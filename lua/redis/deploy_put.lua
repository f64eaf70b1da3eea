-- deploy_put.lua - shares a deployment's state with the fleet: stores it,
-- indexes it, and tells the other instances.
--
-- KEYS[1]  the deployment's key, KEYS[2] the index (sorted by start time)
-- ARGV[1]  the deployment (JSON), ARGV[2] its start time (unix seconds)
-- ARGV[3]  its id, ARGV[4] the channel, ARGV[5] the notice
redis.call('SET', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
