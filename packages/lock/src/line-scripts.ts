import { defineScript } from '@voelgoed/redis';

// The fair line of one resource lives on one node (its line node) in two sorted sets next to
// the lock's keys (same Cluster slot): the line (member = a waiter's owner value, score = its
// arrival time on that node's clock, in µs) and the leases (same members, score = the ms at
// which the waiter is taken out of line unless it calls again). KEYS of every script here:
// lock key, fencing counter, waiter marker, line, leases.

/** Drops waiters whose lease ran out (they died, or gave up without leaving). Needs `now`. */
const PURGE = `
local dead = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now, 'LIMIT', 0, 1000)
if #dead > 0 then
  redis.call('ZREM', KEYS[4], unpack(dead))
  redis.call('ZREM', KEYS[5], unpack(dead))
end
`;

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/** Gives the caller's place a lease of ARGV[4] ms, and the line keys twice that to live. Needs `now`. */
const LEASE = `
redis.call('ZADD', KEYS[5], now + tonumber(ARGV[4]), ARGV[1])
redis.call('PEXPIRE', KEYS[4], 2 * tonumber(ARGV[4]))
redis.call('PEXPIRE', KEYS[5], 2 * tonumber(ARGV[4]))
`;

/**
 * Takes (or keeps) the caller's place in line: its old arrival score when it had one (so a line
 * node that restarted empty gets the line back in order), else now. Renews the lease. Needs `now`
 * and ARGV[4] = lease ms, ARGV[5] = score or ''. Leaves `score` and `rank`.
 */
const JOIN = `
local score = redis.call('ZSCORE', KEYS[4], ARGV[1])
if not score then
  score = ARGV[5]
  if score == '' then score = string.format('%d', now * 1000 + tonumber(t[2]) % 1000) end
  redis.call('ZADD', KEYS[4], score, ARGV[1])
end
${LEASE}
local rank = redis.call('ZRANK', KEYS[4], ARGV[1])
`;

/**
 * The acquire script of the line node. ARGV: owner value, ttl ms, (unused), lease ms, the
 * caller's arrival score or '', '1' to take a place in line when refused. Grants (returns
 * `{ fencing token }`) when the lock key is free or the caller's and the line is empty or the
 * caller is at its head; otherwise puts the caller in line and returns `"<score> <rank> <ahead>"`
 * (rank -1: refused, not queued), ahead = 1 when another waiter is before the caller (it is
 * not the caller's turn), 0 when only the lock key here is held (this node may just be behind
 * the others, e.g. a release still on its way: the quorum decides).
 */
export const lineAcquireScript = defineScript(`
local cur = redis.call('GET', KEYS[1])
if (not cur or cur == ARGV[1]) and ARGV[5] == '' and redis.call('EXISTS', KEYS[4]) == 0 then
  -- Nobody in line (the uncontended case): a plain SET NX.
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return { redis.call('INCR', KEYS[2]) }
end
${NOW}
${PURGE}
if ARGV[5] ~= '' and not redis.call('ZSCORE', KEYS[4], ARGV[1]) then
  -- Back in line at its old place (its lease ran out, or this node restarted empty).
  redis.call('ZADD', KEYS[4], ARGV[5], ARGV[1])
end
if not cur or cur == ARGV[1] then
  local head = redis.call('ZRANGE', KEYS[4], 0, 0)[1]
  if not head or head == ARGV[1] then
    -- The head keeps its place (its lease renewed) until its release here: should the other
    -- nodes refuse (this copy of the key lost, their release on its way), the waiter behind it
    -- must not take its turn while it is out of line.
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    if head then
      -- With a lease and the keys' expiry, as JOIN gives them: it may have been put back in line
      -- just now (above), and a place without a lease would never be purged.
      ${LEASE}
    end
    return { redis.call('INCR', KEYS[2]) }
  end
end
if ARGV[6] ~= '1' then
  -- A last attempt does not queue (its caller will not wait), and leaves a place it had.
  redis.call('ZREM', KEYS[4], ARGV[1])
  redis.call('ZREM', KEYS[5], ARGV[1])
  local head = redis.call('ZRANGE', KEYS[4], 0, 0)[1]
  return '0 -1 ' .. (head and 1 or 0)
end
${JOIN}
return score .. ' ' .. rank .. ' ' .. (rank > 0 and 1 or 0)
`);

/**
 * A waiter's call between attempts, to the line node only: keeps its place (ARGV: owner value,
 * (unused), (unused), lease ms, score or '') and returns `"<score> <rank> <free>"`, free = 1 when
 * the lock key is unset.
 */
export const lineCheckScript = defineScript(`
${NOW}
${PURGE}
${JOIN}
local free = redis.call('EXISTS', KEYS[1]) == 0 and 1 or 0
return score .. ' ' .. rank .. ' ' .. free
`);

/** Leaves the line (a waiter that gave up). ARGV: owner value. */
export const lineLeaveScript = defineScript(`
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
return 1
`);

/**
 * The release script of the line node: takes the releaser out of line, compare-and-deletes
 * (ARGV: owner value, channel or ''), then hands the lock to the head of the line by publishing
 * `\\x01<head value>\\n<lock key>` on the channel of the head's manager (`<channel>/<value prefix>`);
 * a waiter outside the line (a multi-resource lock) left a marker and gets the plain
 * `<lock key>\\n<value>` message. Returns 1 when the key was ours and is deleted.
 */
export const lineReleaseScript = defineScript(`
-- The releaser is done waiting: out of line (a head granted here kept its place).
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
if ARGV[2] ~= '' then
  if redis.call('EXISTS', KEYS[4]) == 1 then
    ${NOW}
    ${PURGE}
    local head = redis.call('ZRANGE', KEYS[4], 0, 0)[1]
    if head then
      -- To the head's own manager: its channel is named after the value's prefix.
      local owner = string.match(head, '^([^:]+):')
      local channel = owner and (ARGV[2] .. '/' .. owner) or ARGV[2]
      redis.call('PUBLISH', channel, '\\1' .. head .. '\\n' .. KEYS[1])
    end
  end
  if redis.call('EXISTS', KEYS[3]) == 1 then
    redis.call('PUBLISH', ARGV[2], KEYS[1] .. '\\n' .. ARGV[1])
  end
end
return 1
`);
