import { defineScript } from '@voelgoed/redis';

// Every script takes the six keys of keys.ts (ready, delayed, active, dead, paused, seq) and,
// as ARGV[1] and ARGV[2], the job-hash prefix and the wake-up channel. Times are the server's
// (TIME), so workers on machines with skewed clocks agree on due times and leases.
// A job hash holds: k kind ('j' JSON, 'b' bytes), p payload, r priority rank, m max attempts,
// f failures, t delivery token, e enqueued at, b backoff, to timeout, s state, o ready order,
// err the last error (JSON), fa failed at.
const PRELUDE = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- Scores go out as exact integers: tostring() would round them to 14 digits.
local function fmt(x) return string.format('%.0f', x) end
local function to_ready(id, jk, keep_order)
  local o = nil
  if keep_order then o = tonumber(redis.call('HGET', jk, 'o')) end
  if not o then
    o = tonumber(redis.call('HGET', jk, 'r') or '1') * 17592186044416 + redis.call('INCR', KEYS[6])
  end
  redis.call('HSET', jk, 's', 'waiting', 'o', fmt(o))
  redis.call('ZADD', KEYS[1], fmt(o), id)
end
-- The work a sweeper process would do, done by every fetch: due delayed jobs go in line, and
-- so do active jobs whose lease ran out (their worker crashed or stalled), keeping their place.
local function promote(now)
  local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', fmt(now), 'LIMIT', 0, 1000)
  for _, id in ipairs(due) do
    redis.call('ZREM', KEYS[2], id)
    if redis.call('EXISTS', ARGV[1] .. id) == 1 then to_ready(id, ARGV[1] .. id, false) end
  end
  local lapsed = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. fmt(now), 'LIMIT', 0, 1000)
  for _, id in ipairs(lapsed) do
    redis.call('ZREM', KEYS[3], id)
    if redis.call('EXISTS', ARGV[1] .. id) == 1 then to_ready(id, ARGV[1] .. id, true) end
  end
end
local function holds(id, token)
  return redis.call('HGET', ARGV[1] .. id, 't') == token and redis.call('ZSCORE', KEYS[3], id)
end
`;

const script = (body: string) => defineScript(PRELUDE + body, 6);

/**
 * ARGV[3]: job count, then 9 fields per job: id, kind, payload, rank, attempts, due ('d' delay
 * ms, 'a' epoch ms, '' now) and its value, backoff, timeout. Returns 1 (created) or 0 per job.
 */
export const enqueueScript = script(`
local now = now_ms()
local out = {}
local created = 0
for i = 0, tonumber(ARGV[3]) - 1 do
  local b = 4 + i * 9
  local id = ARGV[b]
  local jk = ARGV[1] .. id
  if redis.call('EXISTS', jk) == 1 then
    out[i + 1] = 0
  else
    local due = now
    if ARGV[b + 5] == 'd' then due = now + tonumber(ARGV[b + 6])
    elseif ARGV[b + 5] == 'a' then due = tonumber(ARGV[b + 6]) end
    redis.call('HSET', jk, 'k', ARGV[b + 1], 'p', ARGV[b + 2], 'r', ARGV[b + 3], 'm', ARGV[b + 4],
      'f', 0, 't', 0, 'e', fmt(now), 'b', ARGV[b + 7], 'to', ARGV[b + 8])
    if due > now then
      redis.call('HSET', jk, 's', 'delayed')
      redis.call('ZADD', KEYS[2], fmt(due), id)
    else
      to_ready(id, jk, false)
    end
    out[i + 1] = 1
    created = created + 1
  end
end
if created > 0 then redis.call('PUBLISH', ARGV[2], 'e') end
return out
`);

/**
 * ARGV[3]: most jobs to take, ARGV[4]: lease ms. Returns { ms until the next delayed job or
 * lease expiry (-1: none), then 9 fields per job: id, token, failures, max attempts, enqueued
 * at, kind, payload, backoff, timeout }.
 */
export const fetchScript = script(`
local now = now_ms()
promote(now)
local out = { -1 }
if redis.call('EXISTS', KEYS[5]) == 0 then
  local popped = redis.call('ZPOPMIN', KEYS[1], ARGV[3])
  for i = 1, #popped, 2 do
    local id = popped[i]
    local jk = ARGV[1] .. id
    if redis.call('EXISTS', jk) == 1 then
      local t = redis.call('HINCRBY', jk, 't', 1)
      redis.call('HSET', jk, 's', 'active')
      redis.call('ZADD', KEYS[3], fmt(now + tonumber(ARGV[4])), id)
      local h = redis.call('HMGET', jk, 'f', 'm', 'e', 'k', 'p', 'b', 'to')
      out[#out + 1] = id
      out[#out + 1] = t
      for j = 1, 7 do out[#out + 1] = h[j] end
    end
  end
end
local nd = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
local na = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
local nxt = -1
if nd[2] then nxt = math.max(0, tonumber(nd[2]) - now) end
if na[2] then
  local a = math.max(0, tonumber(na[2]) - now)
  if nxt < 0 or a < nxt then nxt = a end
end
out[1] = nxt
return out
`);

/**
 * ARGV[3]: id, ARGV[4]: token, ARGV[5]: lease ms. Returns 1 when the lease is extended, 0 when
 * it is lost: taken by a later delivery, or run out (the job is then put back in line at once).
 */
export const renewScript = script(`
local now = now_ms()
local score = holds(ARGV[3], ARGV[4])
if not score then return 0 end
if tonumber(score) < now then
  redis.call('ZREM', KEYS[3], ARGV[3])
  to_ready(ARGV[3], ARGV[1] .. ARGV[3], true)
  redis.call('PUBLISH', ARGV[2], 'l')
  return 0
end
redis.call('ZADD', KEYS[3], fmt(now + tonumber(ARGV[5])), ARGV[3])
return 1
`);

/** ARGV[3]: id, ARGV[4]: token, ARGV[5]: retention ms. Returns 1, or 0 when the token no longer holds the job. */
export const completeScript = script(`
if not holds(ARGV[3], ARGV[4]) then return 0 end
local jk = ARGV[1] .. ARGV[3]
redis.call('ZREM', KEYS[3], ARGV[3])
local keep = tonumber(ARGV[5])
if keep > 0 then
  redis.call('HDEL', jk, 'p', 'o', 'err')
  redis.call('HSET', jk, 's', 'completed')
  redis.call('PEXPIRE', jk, keep)
else
  redis.call('DEL', jk)
end
return 1
`);

/**
 * ARGV[3]: id, ARGV[4]: token, ARGV[5]: the error (JSON), ARGV[6]: backoff ms. Returns 0 (the
 * token no longer holds the job), 1 (back in line for another attempt) or 2 (dead-lettered).
 */
export const failScript = script(`
if not holds(ARGV[3], ARGV[4]) then return 0 end
local now = now_ms()
local id = ARGV[3]
local jk = ARGV[1] .. id
redis.call('ZREM', KEYS[3], id)
local f = redis.call('HINCRBY', jk, 'f', 1)
redis.call('HSET', jk, 'err', ARGV[5])
if f >= tonumber(redis.call('HGET', jk, 'm')) then
  redis.call('HSET', jk, 's', 'dead', 'fa', fmt(now))
  redis.call('ZADD', KEYS[4], fmt(now), id)
  return 2
end
local wait = tonumber(ARGV[6])
if wait > 0 then
  redis.call('HSET', jk, 's', 'delayed')
  redis.call('ZADD', KEYS[2], fmt(now + wait), id)
else
  to_ready(id, jk, false)
end
redis.call('PUBLISH', ARGV[2], 'f')
return 1
`);

/** Hands a leased job back (worker closing): in line at once, no attempt used. ARGV[3]: id, ARGV[4]: token. */
export const releaseScript = script(`
if not holds(ARGV[3], ARGV[4]) then return 0 end
redis.call('ZREM', KEYS[3], ARGV[3])
to_ready(ARGV[3], ARGV[1] .. ARGV[3], true)
redis.call('PUBLISH', ARGV[2], 'r')
return 1
`);

/** ARGV[3]: id, ARGV[4]: 'retry' (back in line with fresh attempts) or 'remove'. Returns 1, or 0 when no such dead letter. */
export const deadLetterScript = script(`
local id = ARGV[3]
local jk = ARGV[1] .. id
if redis.call('ZREM', KEYS[4], id) == 0 then return 0 end
if ARGV[4] == 'remove' then
  redis.call('DEL', jk)
  return 1
end
redis.call('HSET', jk, 'f', 0)
redis.call('HDEL', jk, 'err', 'fa')
to_ready(id, jk, false)
redis.call('PUBLISH', ARGV[2], 'd')
return 1
`);

/** ARGV[3]: 'pause', 'resume' or 'get'. Returns 1 when paused (after the change). */
export const pauseScript = script(`
if ARGV[3] == 'pause' then redis.call('SET', KEYS[5], '1')
elseif ARGV[3] == 'resume' then
  redis.call('DEL', KEYS[5])
  redis.call('PUBLISH', ARGV[2], 'p')
end
return redis.call('EXISTS', KEYS[5])
`);

/**
 * Returns { ready, delayed and due, delayed, active, active with a lapsed lease, dead }.
 * A due delayed job or a lapsed lease counts as waiting: the next fetch takes it.
 */
export const countsScript = script(`
local now = fmt(now_ms())
return {
  redis.call('ZCARD', KEYS[1]),
  redis.call('ZCOUNT', KEYS[2], '-inf', now),
  redis.call('ZCOUNT', KEYS[2], '(' .. now, '+inf'),
  redis.call('ZCOUNT', KEYS[3], now, '+inf'),
  redis.call('ZCOUNT', KEYS[3], '-inf', '(' .. now),
  redis.call('ZCARD', KEYS[4])
}
`);

/** ARGV[3]: id. Returns {} when unknown, else { state, kind, payload, failures, token }. */
export const getJobScript = script(`
local id = ARGV[3]
local h = redis.call('HMGET', ARGV[1] .. id, 's', 'k', 'p', 'f', 't')
if not h[1] then return {} end
local now = now_ms()
local s = h[1]
if s == 'delayed' then
  local due = redis.call('ZSCORE', KEYS[2], id)
  if due and tonumber(due) <= now then s = 'waiting' end
elseif s == 'active' then
  local exp = redis.call('ZSCORE', KEYS[3], id)
  if exp and tonumber(exp) < now then s = 'waiting' end
end
return { s, h[2] or '', h[3] or '', h[4] or '0', h[5] or '0' }
`);

/** ARGV[3]: offset, ARGV[4]: limit. Returns 6 fields per dead letter: id, failed at, kind, payload, failures, error. */
export const deadLettersScript = script(`
local ids = redis.call('ZRANGE', KEYS[4], ARGV[3], tonumber(ARGV[3]) + tonumber(ARGV[4]) - 1, 'WITHSCORES')
local out = {}
for i = 1, #ids, 2 do
  local h = redis.call('HMGET', ARGV[1] .. ids[i], 'k', 'p', 'f', 'err')
  out[#out + 1] = ids[i]
  out[#out + 1] = ids[i + 1]
  for j = 1, 4 do out[#out + 1] = h[j] or '' end
end
return out
`);
