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
