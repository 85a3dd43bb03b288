import { defineScript } from '@voelgoed/redis';

// KEYS are laid out in groups of n (n = number of resources): lock keys, then fencing counters,
// then waiter markers. All of one resource's keys share a Cluster slot (see keys.ts).

/**
 * Takes every lock key or none. ARGV: owner value, ttl ms, waiter-marker ttl ms ('0': leave no
 * marker; a waiter in a fair line is woken by the line node instead).
 * Returns the new fencing counter per resource, or 0 when a key is held by someone else (then
 * a waiter marker is left so that the holder's release publishes a wake-up).
 */
export const acquireScript = defineScript(`
local n = #KEYS / 3
if n == 1 then
  -- One resource (the usual case): SET NX decides in one call.
  if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    if redis.call('GET', KEYS[1]) ~= ARGV[1] then
      if ARGV[3] ~= '0' then redis.call('SET', KEYS[3], '1', 'PX', ARGV[3]) end
      return 0
    end
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  end
  return { redis.call('INCR', KEYS[2]) }
end
for i = 1, n do
  local cur = redis.call('GET', KEYS[i])
  if cur and cur ~= ARGV[1] then
    if ARGV[3] ~= '0' then redis.call('SET', KEYS[2 * n + i], '1', 'PX', ARGV[3]) end
    return 0
  end
end
local tokens = {}
for i = 1, n do
  redis.call('SET', KEYS[i], ARGV[1], 'PX', ARGV[2])
  tokens[i] = redis.call('INCR', KEYS[n + i])
end
return tokens
`);

/**
 * Raises each fencing counter (KEYS[n+1..2n]) to at least the given token (never lowers it).
 * ARGV: one token per resource. Returns 1.
 */
export const raiseFenceScript = defineScript(`
local n = #KEYS / 3
for i = 1, n do
  local cur = tonumber(redis.call('GET', KEYS[n + i]) or '0')
  if cur < tonumber(ARGV[i]) then redis.call('SET', KEYS[n + i], ARGV[i]) end
end
return 1
`);

/**
 * Compare-and-delete over the n lock keys. ARGV: owner value, pub/sub channel ('' = do not
 * publish). Publishes `<lock key>\n<value>` on the channel when a waiter left its marker.
 * Returns how many keys were ours and are now deleted.
 */
export const releaseScript = defineScript(`
local n = #KEYS / 3
local released = 0
for i = 1, n do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    redis.call('DEL', KEYS[i])
    released = released + 1
    if ARGV[2] ~= '' and redis.call('EXISTS', KEYS[2 * n + i]) == 1 then
      redis.call('PUBLISH', ARGV[2], KEYS[i] .. '\\n' .. ARGV[1])
    end
  end
end
return released
`);

/**
 * Compare-and-pexpire over the n lock keys, all or nothing. ARGV: owner value, ttl ms. Returns 1
 * when every key was ours and is extended, 0 (and extends nothing) otherwise.
 */
export const extendScript = defineScript(`
local n = #KEYS / 3
for i = 1, n do
  if redis.call('GET', KEYS[i]) ~= ARGV[1] then return 0 end
end
for i = 1, n do
  redis.call('PEXPIRE', KEYS[i], ARGV[2])
end
return 1
`);
