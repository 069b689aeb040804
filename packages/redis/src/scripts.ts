/**
 * The store's Lua scripts: each update that reads before it writes runs atomically in Redis, so two
 * instances never both think they extended a closure or took a lease. Loaded once (`SCRIPT LOAD`),
 * run by SHA (`EVALSHA`).
 */

/**
 * Closes a gate: KEYS[1] the gate key, ARGV ms, the instance id, the channel, the message. Extends the
 * key's expiry only when the new closure ends later, and only then publishes it. Returns 1 when it did.
 */
export const CLOSE = `
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) >= ms then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ms)
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
`;

/**
 * Takes the half-open probe lease: KEYS[1] the lease key, ARGV the instance id and the lease's ms.
 * Returns -1 when taken, else the ms the holder's lease still runs.
 */
export const LEASE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return -1 end
return redis.call('PTTL', KEYS[1])
`;

/** Reads the ms each of KEYS still runs (-2 when gone), in one round trip. */
export const READ = `
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('PTTL', key) end
return out
`;

/**
 * Adds this instance's counts and reads the fleet's, in time buckets numbered by Redis's clock (`TIME`),
 * never an instance's: KEYS[1] the counts' key (a bucket is KEYS[1]..':'..n, a hash of
 * "instance|name" fields), ARGV the instance id, the bucket's ms, the buckets per window, then name and
 * count pairs. Each written bucket expires once out of the window. Returns each bucket's fields and
 * values, oldest first.
 */
export const COUNT = `
local t = redis.call('TIME')
local bucketMs = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local b = math.floor((tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)) / bucketMs)
if #ARGV > 3 then
  local key = KEYS[1] .. ':' .. b
  for i = 4, #ARGV, 2 do redis.call('HINCRBY', key, ARGV[1] .. '|' .. ARGV[i], ARGV[i + 1]) end
  redis.call('PEXPIRE', key, bucketMs * (n + 1))
end
local out = {}
for i = b - n + 1, b do out[#out + 1] = redis.call('HGETALL', KEYS[1] .. ':' .. i) end
return out
`;
