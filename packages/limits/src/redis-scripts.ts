/**
 * Lua scripts of the distributed counters. Each runs atomically on the server, so two replicas claiming slices
 * of the same counter can never both take its last unit. Minute windows are hashes of per-second buckets (field =
 * the second at which the bucket leaves the window); periods are plain numbers. Figures travel as strings (Lua
 * would truncate a fractional cost to an integer in its reply).
 */

/** Buckets leave within 62 s of their write; the hash outlives its newest bucket. */
export const MINUTE_KEY_TTL_MS = 63_000;

/** How long a replica counts as claiming a counter after its last claim (for the slice size). */
export const CLAIMANT_TTL_MS = 2_000;

/**
 * Releases the unused rest of a replica's previous slice, then claims a new one.
 * KEYS: counter (minute hash or period string), claimants zset, release key (the previous slice's counter).
 * ARGV: kind ('m' | 'p'), now ms, limit, want (minimum slice: requests waiting on this claim), replica id, claim
 * field (minute: the bucket second), period key TTL ms (0 = none), release field (minute bucket second, '' = none),
 * release amount, claimant TTL ms, minute key TTL ms, demand (what the replica expects to use within a slice).
 * Returns {1, used after the claim, slice, …buckets} or {0, used, ms until the window frees capacity (-1 = not a
 * minute), …buckets}; for a minute, buckets are the live (second, amount) pairs (the new slice's as one more pair).
 * The slice is max(1, remaining / (4 × recent claimants)) capped by the demand, at least `want`, at most what
 * remains: it shrinks as the limit nears, and a replica holds little more than it uses (an unused rest counts
 * as used until handed back, which would inflate the figure other replicas and the control plane read).
 */
export const CLAIM = `
local kind = ARGV[1]
local now = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local rel = tonumber(ARGV[9])
if rel > 0 then
  if kind == 'm' then
    if ARGV[8] ~= '' and tonumber(ARGV[8]) * 1000 > now and redis.call('HEXISTS', KEYS[3], ARGV[8]) == 1 then
      redis.call('HINCRBYFLOAT', KEYS[3], ARGV[8], -rel)
    end
  elseif redis.call('EXISTS', KEYS[3]) == 1 then
    redis.call('INCRBYFLOAT', KEYS[3], -rel)
  end
end
local used = 0
local buckets = {}
if kind == 'm' then
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    local f = tonumber(all[i])
    if f * 1000 > now then
      local v = tonumber(all[i + 1])
      used = used + v
      table.insert(buckets, {f, v})
    else
      redis.call('HDEL', KEYS[1], all[i])
    end
  end
else
  used = tonumber(redis.call('GET', KEYS[1]) or '0')
end
redis.call('ZADD', KEYS[2], now, ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[10]))
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[10]) * 2)
local claimants = redis.call('ZCARD', KEYS[2])
local remaining = math.floor(limit - used + 0.000001)
if remaining < 1 then
  local retry = -1
  if kind == 'm' then
    table.sort(buckets, function(a, b) return a[1] < b[1] end)
    local left = used
    for _, b in ipairs(buckets) do
      left = left - b[2]
      if left < limit then
        retry = b[1] * 1000 - now
        break
      end
    end
  end
  local out = {0, tostring(used), tostring(retry)}
  for _, b in ipairs(buckets) do
    table.insert(out, tostring(b[1]))
    table.insert(out, tostring(b[2]))
  end
  return out
end
local slice = math.min(math.max(1, math.floor(remaining / (4 * claimants))), tonumber(ARGV[12]))
slice = math.max(slice, tonumber(ARGV[4]))
if slice > remaining then slice = remaining end
if kind == 'm' then
  redis.call('HINCRBYFLOAT', KEYS[1], ARGV[6], slice)
  redis.call('PEXPIRE', KEYS[1], ARGV[11])
else
  redis.call('INCRBYFLOAT', KEYS[1], slice)
  if tonumber(ARGV[7]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[7]) end
end
local out = {1, tostring(used + slice), tostring(slice)}
if kind == 'm' then
  for _, b in ipairs(buckets) do
    table.insert(out, tostring(b[1]))
    table.insert(out, tostring(b[2]))
  end
  table.insert(out, ARGV[6])
  table.insert(out, tostring(slice))
end
return out
`;

/**
 * Adds a replica's local deltas to one counter and reads it back (the background push and pull, one call).
 * KEYS: counter. ARGV: kind ('m' | 'p'), now ms, TTL ms (period: 0 = none; minute: the hash's), then for a minute
 * pairs of (bucket second, delta), for a period one delta. A negative delta (a released slice) only applies to a
 * counter that still exists, so it never leaves a negative figure behind in a lost or expired counter.
 * Returns a minute's live buckets as a flat (second, amount) list, or a period's figure as {figure}.
 */
export const SYNC = `
local kind = ARGV[1]
local now = tonumber(ARGV[2])
if kind == 'm' then
  local wrote = false
  for i = 4, #ARGV, 2 do
    local f = ARGV[i]
    local d = tonumber(ARGV[i + 1])
    if tonumber(f) * 1000 > now and (d > 0 or redis.call('HEXISTS', KEYS[1], f) == 1) then
      redis.call('HINCRBYFLOAT', KEYS[1], f, d)
      wrote = true
    end
  end
  if wrote then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
  local out = {}
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    if tonumber(all[i]) * 1000 > now then
      table.insert(out, all[i])
      table.insert(out, all[i + 1])
    else
      redis.call('HDEL', KEYS[1], all[i])
    end
  end
  return out
end
local d = tonumber(ARGV[4] or '0')
if d > 0 or (d < 0 and redis.call('EXISTS', KEYS[1]) == 1) then
  redis.call('INCRBYFLOAT', KEYS[1], d)
  if tonumber(ARGV[3]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
end
return {redis.call('GET', KEYS[1]) or '0'}
`;

/**
 * Raises a period's figure to the database's where Redis holds less (it lost the counter, or never had the
 * usage from before it came up). KEYS: period counter. ARGV: figure from the database, TTL ms (0 = none).
 * Returns 1 when it raised the figure.
 */
export const SEED = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) <= cur then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
if tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
`;

/** Sets the epoch marker if it is absent and returns its value. KEYS: epoch. ARGV: a fresh value. */
export const EPOCH = `
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
`;
