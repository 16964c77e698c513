/**
 * Lua scripts of the Redis key pool. Each runs atomically on the server, so a replica's write can never
 * interleave with another's between the version check and the update.
 */

/**
 * Compare-and-set of one key's health. KEYS[1] key hash. ARGV: expected version, status, failureCount,
 * cooldownUntil ('' = none), rateStrikes, has lastError ('0'/'1'), lastError, modelCooling JSON ('' = none).
 * Returns {1, newVersion} on success, {0, version, status, failureCount, cooldownUntil, rateStrikes, lastError,
 * modelCooling} when another replica changed the key first, {-1} when the key no longer exists (so it is never resurrected).
 */
export const CAS_HEALTH = `
local v = redis.call('HGET', KEYS[1], 'version')
if not v then return {-1} end
if v ~= ARGV[1] then
  local cur = redis.call('HMGET', KEYS[1], 'status', 'failureCount', 'cooldownUntil', 'rateStrikes', 'lastError', 'modelCooling')
  return {0, v, cur[1], cur[2], cur[3], cur[4], cur[5], cur[6]}
end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'failureCount', ARGV[3], 'rateStrikes', ARGV[5])
if ARGV[4] == '' then redis.call('HDEL', KEYS[1], 'cooldownUntil') else redis.call('HSET', KEYS[1], 'cooldownUntil', ARGV[4]) end
if ARGV[6] == '1' then redis.call('HSET', KEYS[1], 'lastError', ARGV[7]) else redis.call('HDEL', KEYS[1], 'lastError') end
if ARGV[8] == '' then redis.call('HDEL', KEYS[1], 'modelCooling') else redis.call('HSET', KEYS[1], 'modelCooling', ARGV[8]) end
return {1, redis.call('HINCRBY', KEYS[1], 'version', 1)}
`;

/**
 * Writes (or replaces) one key and puts it in its group set. KEYS[1] key hash, KEYS[2] group set.
 * The set of the group the key moves out of is named from ARGV[9] (standalone Redis only, not Cluster). ARGV: groupId, keyId, value, status, failureCount, cooldownUntil ('' = none), has lastError, lastError,
 * group-set prefix, modelCooling JSON ('' = none). The version keeps counting up across replacements so stale compare-and-sets fail.
 * Returns the new version.
 */
export const UPSERT_KEY = `
local old = redis.call('HGET', KEYS[1], 'groupId')
if old and old ~= ARGV[1] then redis.call('SREM', ARGV[9] .. old, ARGV[2]) end
redis.call('HSET', KEYS[1], 'groupId', ARGV[1], 'value', ARGV[3], 'status', ARGV[4], 'failureCount', ARGV[5], 'rateStrikes', '0')
if ARGV[6] == '' then redis.call('HDEL', KEYS[1], 'cooldownUntil') else redis.call('HSET', KEYS[1], 'cooldownUntil', ARGV[6]) end
if ARGV[7] == '1' then redis.call('HSET', KEYS[1], 'lastError', ARGV[8]) else redis.call('HDEL', KEYS[1], 'lastError') end
if ARGV[10] == '' then redis.call('HDEL', KEYS[1], 'modelCooling') else redis.call('HSET', KEYS[1], 'modelCooling', ARGV[10]) end
redis.call('SADD', KEYS[2], ARGV[2])
return redis.call('HINCRBY', KEYS[1], 'version', 1)
`;
