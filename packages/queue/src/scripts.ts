import { defineScript } from '@voelgoed/redis';

// Every script takes the six keys of keys.ts (ready, delayed, active, dead, paused, seq) and,
// as ARGV[1] and ARGV[2], the job-hash prefix and the wake-up channel. Times are the server's
// (TIME), so workers on machines with skewed clocks agree on due times and leases.
// A job hash holds: k kind ('j' JSON, 'b' bytes in base64), p payload, r priority rank, m max attempts,
// f failures, t delivery token (from the seq counter: rising across the queue), e enqueued at, b backoff, to timeout, s state, o ready order,
// err the last error (JSON), fa failed at, rs ready since (when it last went in line: the start
// of counts' oldest-waiting age), rk 1 when it went back in line at an earlier place (kept 'o'),
// c the job's deliveries so far, tc the producer's trace propagation fields (JSON; only when its enqueue was traced), n the id
// of the fetch call that took it last (see reclaimScript).
const PRELUDE = `
local clock_ms = nil
local function now_ms()
  local t = redis.call('TIME')
  clock_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  return clock_ms
end
-- Scores go out as exact integers: tostring() would round them to 14 digits.
local function fmt(x) return string.format('%.0f', x) end
-- since: when the job became ready (its due time, its lease's expiry); default now.
local function to_ready(id, jk, keep_order, since)
  local o = nil
  local kept = 0
  if keep_order then o = tonumber(redis.call('HGET', jk, 'o')) end
  if o then kept = 1 else
    o = tonumber(redis.call('HGET', jk, 'r') or '1') * 17592186044416 + redis.call('INCR', KEYS[6])
  end
  redis.call('HSET', jk, 's', 'waiting', 'o', fmt(o), 'rs', fmt(since or clock_ms or now_ms()), 'rk', kept)
  redis.call('ZADD', KEYS[1], fmt(o), id)
end
-- The work a sweeper process would do, done by every fetch: due delayed jobs go in line, and
-- so do active jobs whose lease ran out (their worker crashed or stalled), keeping their place.
local function promote(now)
  local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', fmt(now), 'WITHSCORES', 'LIMIT', 0, 1000)
  for i = 1, #due, 2 do
    local id = due[i]
    redis.call('ZREM', KEYS[2], id)
    if redis.call('EXISTS', ARGV[1] .. id) == 1 then to_ready(id, ARGV[1] .. id, false, tonumber(due[i + 1])) end
  end
  local lapsed = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. fmt(now), 'WITHSCORES', 'LIMIT', 0, 1000)
  for i = 1, #lapsed, 2 do
    local id = lapsed[i]
    redis.call('ZREM', KEYS[3], id)
    if redis.call('EXISTS', ARGV[1] .. id) == 1 then to_ready(id, ARGV[1] .. id, true, tonumber(lapsed[i + 1])) end
  end
end
local function holds(id, token)
  return redis.call('HGET', ARGV[1] .. id, 't') == token and redis.call('ZSCORE', KEYS[3], id)
end
-- A delivery's completion, its token checked: the job kept as completed for keep ms (0: deleted).
local function complete(id, token, keep)
  if not holds(id, token) then return 0 end
  local jk = ARGV[1] .. id
  redis.call('ZREM', KEYS[3], id)
  if keep > 0 then
    redis.call('HDEL', jk, 'p', 'o', 'err', 'tc')
    redis.call('HSET', jk, 's', 'completed')
    redis.call('PEXPIRE', jk, keep)
  else
    redis.call('DEL', jk)
  end
  return 1
end
`;

const script = (body: string) => defineScript(PRELUDE + body, 6);

/**
 * ARGV[3]: job count, then 9 fields per job: id, kind, payload, rank, attempts, due ('d' delay
 * ms, 'a' epoch ms, '' now) and its value, backoff, timeout; then, only when the enqueue was
 * traced, the trace carrier (JSON) every job of the call keeps in 'tc'. Returns 1 (created) or 0
 * per job.
 * Hot path: one EXISTS and one HSET per job; the order numbers come from one INCRBY for the
 * whole call and the ready jobs go in line with one ZADD (to_ready inlined: keep them in step).
 */
export const enqueueScript = script(`
local now = now_ms()
local n = tonumber(ARGV[3])
local out = {}
local created = 0
local seq = redis.call('INCRBY', KEYS[6], n) - n
local ready = {}
local snow = fmt(now)
local tc = ARGV[4 + n * 9]
for i = 0, n - 1 do
  local b = 4 + i * 9
  local id = ARGV[b]
  local jk = ARGV[1] .. id
  if redis.call('EXISTS', jk) == 1 then
    out[i + 1] = 0
  else
    local due = now
    if ARGV[b + 5] == 'd' then due = now + tonumber(ARGV[b + 6])
    elseif ARGV[b + 5] == 'a' then due = tonumber(ARGV[b + 6]) end
    if due > now then
      redis.call('HSET', jk, 'k', ARGV[b + 1], 'p', ARGV[b + 2], 'r', ARGV[b + 3], 'm', ARGV[b + 4],
        'f', 0, 't', 0, 'e', snow, 'b', ARGV[b + 7], 'to', ARGV[b + 8], 's', 'delayed')
      redis.call('ZADD', KEYS[2], fmt(due), id)
    else
      local o = fmt(tonumber(ARGV[b + 3]) * 17592186044416 + seq + i + 1)
      redis.call('HSET', jk, 'k', ARGV[b + 1], 'p', ARGV[b + 2], 'r', ARGV[b + 3], 'm', ARGV[b + 4],
        'f', 0, 't', 0, 'e', snow, 'b', ARGV[b + 7], 'to', ARGV[b + 8], 's', 'waiting', 'o', o,
        'rs', snow, 'rk', 0)
      ready[#ready + 1] = o
      ready[#ready + 1] = id
    end
    if tc then redis.call('HSET', jk, 'tc', tc) end
    out[i + 1] = 1
    created = created + 1
  end
end
if #ready > 0 then redis.call('ZADD', KEYS[1], unpack(ready)) end
if created > 0 then redis.call('PUBLISH', ARGV[2], 'e') end
return out
`);

/**
 * Completes, then fetches: a worker acknowledges the jobs its handlers finished and takes new
 * ones in one call (one round trip per job at concurrency 1; one call for a whole batch of
 * completions at high concurrency). ARGV[3]: most jobs to take (0: only complete), ARGV[4]:
 * lease ms, ARGV[5]: retention ms of a completed job (0: delete it), ARGV[6]: number of
 * completions, then id and token of each, then the call's id (kept as the jobs' 'n', for
 * {@link reclaimScript} when the reply is lost). Returns { ms until the next delayed job or lease
 * expiry (-1: none, or not looked up because every job asked for was taken), then 1 per completion done or 0 when its token no longer held the job,
 * then 11 fields per job taken: id, token, delivery count, failures, max attempts, enqueued at,
 * kind, payload, backoff, timeout, trace carrier (nil when none) }.
 */
export const fetchScript = script(`
local now = now_ms()
local out = { -1 }
local keep = tonumber(ARGV[5])
local last = 6 + 2 * tonumber(ARGV[6])
for i = 7, last, 2 do out[#out + 1] = complete(ARGV[i], ARGV[i + 1], keep) end
local call = ARGV[last + 1]
promote(now)
if tonumber(ARGV[3]) > 0 and redis.call('EXISTS', KEYS[5]) == 0 then
  local popped = redis.call('ZPOPMIN', KEYS[1], ARGV[3])
  local leases = {}
  local until_ms = fmt(now + tonumber(ARGV[4]))
  -- Tokens come from the queue's counter, not the job's: an id enqueued again after its job was
  -- deleted goes on from above every token handed out before (a late completion of the old job
  -- must not hold the new one, and a store fencing on the token must take the new one's).
  local base = 0
  if #popped > 0 then base = redis.call('INCRBY', KEYS[6], #popped / 2) - #popped / 2 end
  for i = 1, #popped, 2 do
    local id = popped[i]
    local jk = ARGV[1] .. id
    local h = redis.call('HMGET', jk, 't', 'f', 'm', 'e', 'k', 'p', 'b', 'to', 'tc', 'c')
    if h[5] then
      local t = math.max((tonumber(h[1]) or 0) + 1, base + (i + 1) / 2)
      local c = (tonumber(h[10]) or 0) + 1
      redis.call('HSET', jk, 't', t, 's', 'active', 'n', call, 'c', c)
      leases[#leases + 1] = until_ms
      leases[#leases + 1] = id
      out[#out + 1] = id
      out[#out + 1] = t
      out[#out + 1] = c
      for j = 2, 9 do out[#out + 1] = h[j] end
    end
  end
  if #leases > 0 then redis.call('ZADD', KEYS[3], unpack(leases)) end
  -- Every job asked for was taken: the worker fetches again at once and needs no due time.
  if #leases == 2 * tonumber(ARGV[3]) then return out end
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
 * Undoes what worker calls whose reply was lost (a timeout, or a connection dropped after the
 * call was written) may have done: the jobs they took (their 'n' is one of the calls' ids) go
 * back in line at once, keeping their place, instead of waiting out a lease nobody holds; and
 * their completions are applied now or found applied. ARGV[3]: number of call ids, then the
 * ids, then the number of completions, then id and token of each, then retention ms. Returns
 * { jobs handed back, then per completion: 1 done (now or by the lost call, the job kept as
 * completed), 2 the job is gone (deleted: by the lost call, when retention is 0), 0 lease lost }.
 */
export const reclaimScript = script(`
local lost = {}
local n = tonumber(ARGV[3])
for i = 4, 3 + n do lost[ARGV[i]] = true end
local handed = 0
if n > 0 then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
    local jk = ARGV[1] .. id
    if lost[redis.call('HGET', jk, 'n') or ''] then
      redis.call('ZREM', KEYS[3], id)
      to_ready(id, jk, true)
      handed = handed + 1
    end
  end
end
local out = { handed }
local b = 4 + n
local na = tonumber(ARGV[b])
local keep = tonumber(ARGV[b + 2 * na + 1])
for i = b + 1, b + 2 * na, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  local done = complete(id, token, keep)
  if done == 0 then
    local h = redis.call('HMGET', ARGV[1] .. id, 's', 't')
    if h[1] == 'completed' and h[2] == token then done = 1
    elseif not h[1] and not h[2] then done = 2 end
  end
  out[#out + 1] = done
end
if handed > 0 then redis.call('PUBLISH', ARGV[2], 'r') end
return out
`);

/**
 * Renews the leases of every delivery a worker runs, in one call. ARGV[3]: lease ms, then id and
 * token of each delivery. Returns 1 per delivery whose lease is extended, 0 per one whose lease
 * is lost: taken by a later delivery, or run out (the job is then put back in line at once).
 */
export const renewScript = script(`
local now = now_ms()
local out = {}
local leases = {}
local lost = false
local until_ms = fmt(now + tonumber(ARGV[3]))
for i = 4, #ARGV, 2 do
  local id = ARGV[i]
  local score = holds(id, ARGV[i + 1])
  if not score then
    out[#out + 1] = 0
  elseif tonumber(score) < now then
    redis.call('ZREM', KEYS[3], id)
    to_ready(id, ARGV[1] .. id, true, tonumber(score))
    lost = true
    out[#out + 1] = 0
  else
    leases[#leases + 1] = until_ms
    leases[#leases + 1] = id
    out[#out + 1] = 1
  end
end
if #leases > 0 then redis.call('ZADD', KEYS[3], unpack(leases)) end
if lost then redis.call('PUBLISH', ARGV[2], 'l') end
return out
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
 * Returns { ready, delayed and due, delayed, active, active with a lapsed lease, dead, age in ms
 * of the longest-waiting job (0: none) }. A due delayed job or a lapsed lease counts as waiting:
 * the next fetch takes it; it has waited since its due time or its lease's expiry (their scores).
 * In line, jobs of one priority rank went ready in the order of their place ('rs' rises with
 * 'o'), except those that went back at an earlier place ('rk' 1, after a lapsed or handed-back
 * lease); such a job is behind no job that went ready before it. So the oldest of a rank is the
 * first job of the rank that kept no place, or one of the kept ones before it: a few reads per
 * rank (at most 16 per rank), never a scan of the line.
 */
export const countsScript = script(`
local t = now_ms()
local now = fmt(t)
local oldest = t
local lo = '-inf'
for _ = 1, 64 do
  local head = redis.call('ZRANGEBYSCORE', KEYS[1], lo, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  if not head[1] then break end
  local hi = '(' .. fmt((math.floor(tonumber(head[2]) / 17592186044416) + 1) * 17592186044416)
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], lo, hi, 'LIMIT', 0, 16)) do
    local h = redis.call('HMGET', ARGV[1] .. id, 'rs', 'e', 'rk')
    local since = tonumber(h[1] or h[2] or '')
    if since and since < oldest then oldest = since end
    if h[3] ~= '1' then break end
  end
  lo = string.sub(hi, 2)
end
local due = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if due[2] and tonumber(due[2]) < oldest then oldest = tonumber(due[2]) end
local lapsed = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
if lapsed[2] and tonumber(lapsed[2]) < oldest then oldest = tonumber(lapsed[2]) end
return {
  redis.call('ZCARD', KEYS[1]),
  redis.call('ZCOUNT', KEYS[2], '-inf', now),
  redis.call('ZCOUNT', KEYS[2], '(' .. now, '+inf'),
  redis.call('ZCOUNT', KEYS[3], now, '+inf'),
  redis.call('ZCOUNT', KEYS[3], '-inf', '(' .. now),
  redis.call('ZCARD', KEYS[4]),
  t - oldest
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
