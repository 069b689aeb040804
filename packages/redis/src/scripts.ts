/**
 * The store's Lua scripts: each update that reads before it writes runs atomically in Redis, so two
 * instances never both think they extended a closure or took a lease. Loaded once (`SCRIPT LOAD`),
 * run by SHA (`EVALSHA`).
 */

/**
 * Closes a gate: KEYS[1] the gate key, ARGV ms, the value (the instance id, ending with `NO_CUT` for a
 * closure that cuts no rate), the channel, the message. Extends the
 * key's expiry only when the new closure ends later, and only then publishes it. Returns 1 when it did,
 * 0 when it did not, or the error of a refused `PUBLISH` (an ACL that keeps the user off the channel):
 * the closure is written all the same, and the others read it at their refresh.
 */
export const CLOSE = `
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) >= ms then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ms)
local sent = redis.pcall('PUBLISH', ARGV[3], ARGV[4])
if type(sent) == 'table' and sent.err then return sent.err end
return 1
`;

/**
 * Takes the half-open probe lease: KEYS[1] the lease key, ARGV the instance id and the lease's ms.
 * Returns -1 when taken (also when this instance holds it already: it runs `ms` from now then), else
 * the ms the holder's lease still runs. A breaker's lease also names KEYS[2], the fleet's last lease,
 * and ARGV[3], the breaker's longest wait: the fleet's half-open backoff. Each lease taken runs at
 * least twice the last one (which `FREE` forgets when a probe closed the breaker), up to that wait,
 * and refuses its holder too while it runs, so the fleet's probes grow apart as one breaker's do,
 * whichever instance sends them. Before, each instance's own wait, doubled only by its own failed
 * probes, set the lease, and a fleet of n sent about n times the probes of one instance. A lease
 * longer than the asker's own longest wait (another instance's configuration) does not hold it past
 * that wait from the lease's start: refused until then, the asker takes the lease after (taken over
 * at once, two probes went out together, review s23). The last step is kept for its length plus the longest
 * wait, as a breaker keeps an idle key that long: kept only twice its length, calls further apart
 * than that found it gone, and the fleet's probes no longer compounded (review s23).
 */
export const LEASE = `
local holder = redis.call('GET', KEYS[1])
if holder and (holder ~= ARGV[1] or KEYS[2]) then
  local left = redis.call('PTTL', KEYS[1])
  if not KEYS[2] then return left end
  local length = tonumber(redis.call('GET', KEYS[2])) or left
  local wait = math.min(left, tonumber(ARGV[3]) - (length - left))
  if wait > 0 then return wait end
end
local ms = tonumber(ARGV[2])
if KEYS[2] then
  local last = tonumber(redis.call('GET', KEYS[2])) or 0
  ms = math.min(tonumber(ARGV[3]), math.max(ms, 2 * last))
  redis.call('SET', KEYS[2], ms, 'PX', ms + tonumber(ARGV[3]))
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ms)
return -1
`;

/**
 * Frees a probe lease only if this instance still holds it: KEYS[1] the lease key, ARGV[1] the
 * instance id. An answer that comes after its lease expired must not free another instance's.
 * KEYS[2], if named, the fleet's last breaker lease (see `LEASE`), is forgotten: a probe closed the
 * breaker, and the next opening's backoff starts afresh. Returns 1 when it freed the lease.
 */
export const FREE = `
if KEYS[2] then redis.call('DEL', KEYS[2]) end
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * Reads the ms each of KEYS but the last still runs (-2 when gone), in one round trip, and writes the
 * last, this instance's heartbeat, to expire in ARGV[1] ms: the refresh's answer says the store's
 * writes work, not only its reads (a replica, after a failover, answers reads and refuses writes).
 * Returns those ms, then, per key, 1 when its value ends with ARGV[2] (a closure that cuts no rate: a
 * spent quota's), else 0: an instance that missed the closure's message must not take it for a 429's.
 */
export const READ = `
local ttls, marks = {}, {}
local mark = ARGV[2]
for i = 1, #KEYS - 1 do
  ttls[i] = redis.call('PTTL', KEYS[i])
  local value = ttls[i] > 0 and redis.call('GET', KEYS[i]) or ''
  marks[i] = (#value >= #mark and string.sub(value, -#mark) == mark) and 1 or 0
end
redis.call('SET', KEYS[#KEYS], '1', 'PX', ARGV[1])
return {ttls, marks}
`;

/** The end of a gate key's value that says its closure cuts no rate (see `READ`). */
export const NO_CUT = ' no-cut';

/**
 * Adds this instance's counts and reads the fleet's, for several counts at once (the flush sends them
 * in chunks of a few dozen, so that no call blocks Redis for long), in time buckets numbered by Redis's clock (`TIME`), never
 * an instance's: KEYS the counts' keys (a bucket of KEYS[k] is KEYS[k]..':'..n, a hash of
 * "instance|name" fields); ARGV the instance id, then for each key in turn the bucket's ms, the
 * buckets per window, the number of name and count pairs, and those pairs. Each written bucket expires
 * once out of the window. Returns, per key, each bucket's fields and values, oldest first; or, for a
 * key whose bucket is another app's key of another type under the prefix, the WRONGTYPE error, so that
 * one clash costs that count alone, not the others of the call. Any other error fails the call.
 */
export const COUNT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function count(key, a, bucketMs, n, last)
  local b = math.floor(now / bucketMs)
  if last > a + 2 then
    local bucket = key .. ':' .. b
    for i = a + 3, last, 2 do redis.call('HINCRBY', bucket, ARGV[1] .. '|' .. ARGV[i], ARGV[i + 1]) end
    redis.call('PEXPIRE', bucket, bucketMs * (n + 1))
  end
  local buckets = {}
  for i = b - n + 1, b do buckets[#buckets + 1] = redis.call('HGETALL', key .. ':' .. i) end
  return buckets
end
local out = {}
local a = 2
for k, key in ipairs(KEYS) do
  local last = a + 2 + 2 * tonumber(ARGV[a + 2])
  local ok, buckets = pcall(count, key, a, tonumber(ARGV[a]), tonumber(ARGV[a + 1]), last)
  if not ok then
    buckets = type(buckets) == 'table' and buckets.err or tostring(buckets)
    -- Only a clash with another app's key is this key's alone: OOM, READONLY... fail the whole call.
    if string.sub(buckets, 1, 10) ~= 'WRONGTYPE ' then return redis.error_reply(buckets) end
  end
  out[k] = buckets
  a = last + 1
end
return out
`;
