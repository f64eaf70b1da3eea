-- throttle.lua - one throttling decision for a request, shared by every
-- gateway: GCRA ("generic cell rate algorithm") token buckets, each kept
-- as one number, its theoretical arrival time (TAT) in microseconds of
-- Redis's own clock, plus an optional daily quota counter. Every bucket is
-- checked before any is charged, so a request refused by one costs the
-- others nothing.
-- KEYS[1..n]: the buckets; KEYS[n+1]: the quota counter when ARGV[2] > 0.
-- ARGV[1]: n; ARGV[2]: daily quota (0 = none); ARGV[3]: seconds until the
-- quota's UTC day ends; then per bucket i: ARGV[2+2i] its emission
-- interval and ARGV[3+2i] its tolerance (burst x interval), microseconds.
-- Returns {1, 0, 0} when allowed, else {0, retry_ms, which}: which is the
-- bucket's index, or n+1 for the quota.
if redis.replicate_commands then
    pcall(redis.replicate_commands)
end
local n = tonumber(ARGV[1])
local quota = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
if quota > 0 then
    local used = tonumber(redis.call('GET', KEYS[n + 1]) or '0')
    if used >= quota then
        return { 0, tonumber(ARGV[3]) * 1000, n + 1 }
    end
end
local new = {}
for i = 1, n do
    local interval = tonumber(ARGV[2 + 2 * i])
    local tolerance = tonumber(ARGV[3 + 2 * i])
    local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
    if tat < now then
        tat = now
    end
    local nt = tat + interval
    if nt - now > tolerance then
        return { 0, math.ceil((nt - now - tolerance) / 1000), i }
    end
    new[i] = nt
end
for i = 1, n do
    redis.call('SET', KEYS[i], string.format('%.3f', new[i]))
    redis.call('PEXPIRE', KEYS[i], math.ceil((new[i] - now) / 1000) + 1000)
end
if quota > 0 then
    redis.call('INCR', KEYS[n + 1])
    redis.call('EXPIRE', KEYS[n + 1], tonumber(ARGV[3]) + 3600)
end
return { 1, 0, 0 }
