/**
 * The Redis side of `sliding-window.ts`: one script decides every rule of a request atomically,
 * in one round trip. Redis runs a script alone, so replicas sharing one Redis (or one Cluster
 * slot: all keys of a call share the consumer's hash tag) count exactly as one process would.
 *
 * Time is Redis's own (`TIME`), not the gateway's: replicas whose clocks disagree still share one
 * clock. Scripts that read `TIME` and then write are replicated by their effects, the default
 * since Redis 5 (`redis.replicate_commands()` would be needed before that; we require Redis ≥ 6).
 *
 * One call decides a BATCH of requests (the limiter sends every decision a turn of the event loop
 * asked for in one call: redis-store.ts), in order, each exactly as if it had been a call of its
 * own: a request sees what the requests before it counted, and each is all-or-nothing over its
 * rules. A batch of one is the plain case.
 *
 * KEYS: the distinct counters of the whole batch (`keys.ts`).
 * ARGV: request count Q and shape count S; per shape (the rules and periods requests share): its
 *       rule count R and key count K, per rule its counter (1-based index into the request's K
 *       keys) and limit, per key its period and bucket width in ms (`bucketWidthMs`: TypeScript is
 *       the one source of it); then per request its shape (1-based) and its K keys (1-based
 *       indexes into KEYS).
 * Reply: per request, in order: allowed (1/0), then per rule: count after the decision, wait ms,
 *        reset ms.
 *
 * Each counter is one hash, its buckets chained oldest to newest:
 *   n        requests counted in the window (the sum of the buckets)
 *   o, z     index of the oldest and of the newest bucket
 *   <index>  a bucket, index = floor(ms / width): "<count>:<offset>:<gap>", its newest request at
 *            index × width + offset, the next bucket at index + gap (0: none, it is the newest)
 * so a decision reads `n o z` and the bucket of now in one HMGET, plus the oldest bucket: buckets
 * leave from the oldest end one by one, a request goes into the bucket of now (appended to the
 * chain when new). Nothing scans the window except a rejection at the limit, which follows the
 * chain only as far as the requests it must see leave. A counter whose fields disagree (a
 * hand-edited key, a bug) is rebuilt from all its fields rather than miscounted. If Redis's clock
 * steps back behind the newest bucket, the request is counted in the newest bucket: held at least
 * as long as it should be, never less.
 *
 * A call reads each counter it touches once and writes it once, at its end: the time is Redis's
 * at the start of the call for all of its requests, so the requests of a batch that count on one
 * counter (one consumer's burst) cost one read and one write between them, not one each. A
 * rejected request writes only to drop buckets that left the window. An admitted one changes its
 * bucket and `n` (and `o z` when a bucket left or started); one that starts a bucket also sets
 * the expiry, to one period after the end of that bucket (later requests in it need no other): an
 * idle consumer costs nothing.
 *
 * Every number stored or sent to Redis (indices ≈ ms / width, counts, offsets, expiries) is an
 * integer below 10^14, and goes as text written with `%d` (`int`, `encode`). Lua 5.1 would
 * otherwise write it with `%.14g`, sprintf's floating-point path: in a `perf` profile of Redis
 * running this script, number formatting was ~11% of its CPU, and a number passed to
 * `redis.call` cost twice a string. Field names read from Redis (`o`, `z`) are passed back as read.
 */

import { bucketWidthMs, type WindowOutcome } from './sliding-window.ts';

export const RATE_LIMIT_COMMAND = 'apiwayRateLimit';

/**
 * The script. `clock: 'arguments'` reads the time (ms) from the last ARGV instead of Redis's
 * clock: only for tests that drive the same script through a simulated clock.
 */
export function rateLimitLua(clock: 'redis' | 'arguments' = 'redis'): string {
  const now =
    clock === 'redis'
      ? `local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)`
      : 'local now = tonumber(ARGV[#ARGV])';
  return `${now}${SCRIPT_BODY}`;
}

const SCRIPT_BODY = `

local function parse(value)
  if not value then return nil end
  local count, offset, gap = string.match(value, '^(%d+):(%d+):(%d+)$')
  if not count then return nil end
  return tonumber(count), tonumber(offset), tonumber(gap)
end

local format = string.format

local function int(value)
  return format('%d', value)
end

local function encode(count, offset, gap)
  return format('%d:%d:%d', count, offset, gap)
end

-- n, o, z, the bucket of now, the oldest bucket, and the newest one when a request may be
-- appended after it (there is no bucket of now yet).
local function load(key, current)
  local head = redis.call('HMGET', key, 'n', 'o', 'z', int(current))
  local s = { n = tonumber(head[1]) or 0, o = tonumber(head[2]), z = tonumber(head[3]), changed = false }
  s.cc, s.coff, s.cgap = parse(head[4])
  if s.o then
    if s.o == current then s.oc, s.ooff, s.ogap = s.cc, s.coff, s.cgap
    else s.oc, s.ooff, s.ogap = parse(redis.call('HGET', key, head[2])) end
  end
  if s.z then
    if s.z == current then s.zc, s.zoff, s.zgap = s.cc, s.coff, s.cgap
    elseif s.z == s.o then s.zc, s.zoff, s.zgap = s.oc, s.ooff, s.ogap
    elseif not s.cc then s.zc, s.zoff, s.zgap = parse(redis.call('HGET', key, head[3])) end
  end
  return s
end

local function consistent(s)
  if s.n < 0 then return false end
  if not s.o then return s.n == 0 and not s.z end
  if not (s.n > 0 and s.oc ~= nil and s.z ~= nil and s.o <= s.z) then return false end
  -- The newest bucket is loaded whenever a request may be appended after it.
  return s.cc ~= nil or (s.zc ~= nil and s.zgap == 0)
end

-- Drop the buckets whose newest request has left the window, oldest first. False: broken chain.
local function prune(key, s, period, width, current)
  while s.o and s.o * width + s.ooff + period <= now do
    s.n = s.n - s.oc
    -- Deleted by \`save\`, with what else changed.
    s.dropped = s.dropped or {}
    s.dropped[#s.dropped + 1] = s.o
    s.changed = true
    if s.ogap == 0 then
      s.o, s.z = nil, nil
    else
      s.o = s.o + s.ogap
      if s.o == current then s.oc, s.ooff, s.ogap = s.cc, s.coff, s.cgap
      elseif s.o == s.z and s.zc then s.oc, s.ooff, s.ogap = s.zc, s.zoff, s.zgap
      else s.oc, s.ooff, s.ogap = parse(redis.call('HGET', key, int(s.o))) end
      if not s.oc then return false end
    end
  end
  return true
end

-- The counter rewritten from whatever live buckets its fields hold.
local function rebuild(key, period, width)
  local fields = redis.call('HGETALL', key)
  local live = {}
  for f = 1, #fields, 2 do
    local index = tonumber(fields[f])
    local count, offset = parse(fields[f + 1])
    if index and count and count > 0 and index * width + offset + period > now then
      live[#live + 1] = { index, count, offset }
    end
  end
  table.sort(live, function(a, b) return a[1] < b[1] end)
  redis.call('DEL', key)
  if #live == 0 then return end
  local args, total = {}, 0
  for i, bucket in ipairs(live) do
    local following = live[i + 1]
    args[#args + 1] = int(bucket[1])
    args[#args + 1] = encode(bucket[2], bucket[3], following and following[1] - bucket[1] or 0)
    total = total + bucket[2]
  end
  args[#args + 1] = 'n'
  args[#args + 1] = int(total)
  args[#args + 1] = 'o'
  args[#args + 1] = int(live[1][1])
  args[#args + 1] = 'z'
  args[#args + 1] = int(live[#live][1])
  redis.call('HSET', key, unpack(args))
  redis.call('PEXPIRE', key, int((live[#live][1] + 1) * width + period - now))
end

-- The counters this call touches, by KEYS index: each is read (and pruned) once, then updated
-- in memory by every request of the call that counts on it, and written once by \`save\`. The
-- time is the same for the whole call, so nothing more leaves a window after the first read.
local loaded = {}

local function counter(key_index, period, width)
  local s = loaded[key_index]
  if s then return s end
  local key = KEYS[key_index]
  local current = math.floor(now / width)
  s = load(key, current)
  if not (consistent(s) and prune(key, s, period, width, current) and consistent(s)) then
    rebuild(key, period, width)
    s = load(key, current)
  end
  s.key, s.period, s.width, s.current, s.offset = key, period, width, current, now - current * width
  -- Buckets changed since the last save (index -> encoded bucket), whether one was started, and
  -- whether anything changed (buckets that left the window, \`s.dropped\`, count as a change).
  s.writes, s.dirty, s.started = {}, s.changed, false
  loaded[key_index] = s
  return s
end

-- Count one admitted request in the bucket of now (the newest bucket if the clock stepped back).
local function admit(s)
  local current, offset = s.current, s.offset
  if s.cc then
    s.cc, s.coff = s.cc + 1, math.max(s.coff, offset)
    s.writes[current] = encode(s.cc, s.coff, s.cgap)
    if s.o == current then s.oc, s.ooff = s.cc, s.coff end
    if s.z == current then s.zc, s.zoff = s.cc, s.coff end
  elseif s.z and current < s.z then
    s.zc = s.zc + 1
    s.writes[s.z] = encode(s.zc, s.zoff, 0)
    if s.o == s.z then s.oc = s.zc end
  else
    s.started = true
    if s.z then
      s.writes[s.z] = encode(s.zc, s.zoff, current - s.z)
      if s.o == s.z then s.ogap = current - s.z end
    else
      s.o, s.oc, s.ooff, s.ogap = current, 1, offset, 0
    end
    s.z, s.zc, s.zoff, s.zgap = current, 1, offset, 0
    -- Later requests of this call find the bucket of now.
    s.cc, s.coff, s.cgap = 1, offset, 0
    s.writes[current] = encode(1, offset, 0)
  end
  s.n = s.n + 1
  s.dirty = true
end

-- Write what changed in memory: the buckets that left the window in one HDEL, the changed
-- buckets and \`n\` in one HSET (with \`o z\` when a bucket left or started: only then do they
-- move), and the expiry when a bucket was started.
local function save(s)
  if not s.dirty then return end
  if not s.o then
    -- Every bucket left the window (and none was counted since): the counter is gone.
    redis.call('DEL', s.key)
    s.dropped, s.dirty = nil, false
    return
  end
  local moved = s.dropped or s.started
  if s.dropped then
    local fields = {}
    for i, index in ipairs(s.dropped) do fields[i] = int(index) end
    redis.call('HDEL', s.key, unpack(fields))
  end
  local args = {}
  for index, value in pairs(s.writes) do
    args[#args + 1] = int(index)
    args[#args + 1] = value
  end
  args[#args + 1] = 'n'
  args[#args + 1] = int(s.n)
  if moved then
    args[#args + 1] = 'o'
    args[#args + 1] = int(s.o)
    args[#args + 1] = 'z'
    args[#args + 1] = int(s.z)
  end
  redis.call('HSET', s.key, unpack(args))
  if s.started then redis.call('PEXPIRE', s.key, int((s.current + 1) * s.width + s.period - now)) end
  s.writes, s.dropped, s.dirty, s.started = {}, nil, false, false
end

-- One request: its counters (KEYS indexes) and its shape (rules, and its keys' periods and widths).
-- Appends its reply (allowed, then per rule count, wait, reset) to reply.
local function decide(key_indexes, shape, reply)
  local counters, limits = shape.counters, shape.limits
  local states = {}
  for k = 1, #key_indexes do
    states[k] = counter(key_indexes[k], shape.periods[k], shape.widths[k])
  end

  local allowed = true
  for r = 1, #counters do
    if states[counters[r]].n + 1 > limits[r] then allowed = false end
  end
  if allowed then
    for k = 1, #states do admit(states[k]) end
  end

  reply[#reply + 1] = allowed and 1 or 0
  for r = 1, #counters do
    local s, limit = states[counters[r]], limits[r]
    local period, width = s.period, s.width
    local wait = 0
    if s.n >= limit then
      wait = period
      if limit >= 1 and s.o then
        -- Oldest first, until enough requests have left the window for one more. The chain is
        -- read from Redis past the oldest bucket: written first.
        save(s)
        local left, index, count, offset, gap = s.n, s.o, s.oc, s.ooff, s.ogap
        while count do
          left = left - count
          if left < limit then
            wait = index * width + offset + period - now
            break
          end
          if gap == 0 then break end
          index = index + gap
          count, offset, gap = parse(redis.call('HGET', s.key, int(index)))
        end
      end
    end
    local reset = period
    if s.o then reset = s.o * width + s.ooff + period - now end
    reply[#reply + 1] = s.n
    reply[#reply + 1] = wait
    reply[#reply + 1] = reset
  end
end

-- The shapes, then the batch in order: each request sees what the ones before it counted.
local request_count, shape_count = tonumber(ARGV[1]), tonumber(ARGV[2])
local at = 3
local shapes = {}
for i = 1, shape_count do
  local rule_count, key_count = tonumber(ARGV[at]), tonumber(ARGV[at + 1])
  at = at + 2
  local shape = { counters = {}, limits = {}, periods = {}, widths = {}, key_count = key_count }
  for r = 1, rule_count do
    shape.counters[r], shape.limits[r] = tonumber(ARGV[at + 2 * r - 2]), tonumber(ARGV[at + 2 * r - 1])
  end
  at = at + 2 * rule_count
  for k = 1, key_count do
    shape.periods[k], shape.widths[k] = tonumber(ARGV[at + 2 * k - 2]), tonumber(ARGV[at + 2 * k - 1])
  end
  at = at + 2 * key_count
  shapes[i] = shape
end
local reply = {}
for _ = 1, request_count do
  local shape = shapes[tonumber(ARGV[at])]
  local key_indexes = {}
  for k = 1, shape.key_count do key_indexes[k] = tonumber(ARGV[at + k]) end
  at = at + 1 + shape.key_count
  decide(key_indexes, shape, reply)
end
for _, s in pairs(loaded) do save(s) end
return reply
`;

export const RATE_LIMIT_LUA = rateLimitLua();

export interface ScriptReply {
  allowed: boolean;
  outcomes: WindowOutcome[];
}

/** What one request of a batch asks: its distinct counter keys, each key's period, its rules. */
export interface BatchedRequest {
  keys: readonly string[];
  periodsMs: readonly number[];
  rules: readonly { counter: number; limit: number }[];
  /**
   * Requests carrying the same `shape` object have the same rules and periods (the limiter
   * passes the rule set they were planned from): their shape is sent once, without comparing.
   * Without it, shapes are compared by value.
   */
  shape?: object;
}

/**
 * KEYS and ARGV of a call deciding `requests` in order (see above). A key shared by requests is
 * sent once, and so is a shape (rules, periods and bucket widths) shared by requests: a batch
 * of requests under the same limits costs 1 + K arguments per request.
 */
export function batchArguments(requests: readonly BatchedRequest[]): {
  keys: string[];
  args: number[];
} {
  const keys: string[] = [];
  const keyIndex = new Map<string, number>();
  const shapeArgs: number[] = [];
  const shapeIndex = new Map<unknown, number>();
  const requestArgs: number[] = [];
  for (const request of requests) {
    const identity =
      request.shape ??
      `${request.rules.map((rule) => `${rule.counter}:${rule.limit}`).join(',')}|${request.periodsMs.join(',')}`;
    let shape = shapeIndex.get(identity);
    if (shape === undefined) {
      shape = shapeIndex.size + 1;
      shapeIndex.set(identity, shape);
      shapeArgs.push(request.rules.length, request.keys.length);
      for (const rule of request.rules) shapeArgs.push(rule.counter + 1, rule.limit);
      for (const periodMs of request.periodsMs) shapeArgs.push(periodMs, bucketWidthMs(periodMs));
    }
    requestArgs.push(shape);
    for (const key of request.keys) {
      let index = keyIndex.get(key);
      if (index === undefined) {
        keys.push(key);
        index = keys.length;
        keyIndex.set(key, index);
      }
      requestArgs.push(index);
    }
  }
  return { keys, args: [requests.length, shapeIndex.size, ...shapeArgs, ...requestArgs] };
}

/**
 * The script's reply to a batch whose requests have these rule counts, checked; throws on
 * anything else (a bug, or not our script).
 */
export function parseBatchReply(reply: unknown, ruleCounts: readonly number[]): ScriptReply[] {
  const expected = ruleCounts.reduce((total, count) => total + 1 + 3 * count, 0);
  if (
    !Array.isArray(reply) ||
    reply.length !== expected ||
    !reply.every((value) => typeof value === 'number')
  ) {
    throw new Error('unexpected reply from the rate-limit script');
  }
  const values = reply as number[];
  const replies: ScriptReply[] = [];
  let at = 0;
  for (const ruleCount of ruleCounts) {
    const allowed = values[at] === 1;
    at++;
    const outcomes: WindowOutcome[] = [];
    for (let index = 0; index < ruleCount; index++, at += 3) {
      outcomes.push({
        count: values[at] ?? 0,
        waitMs: values[at + 1] ?? 0,
        resetMs: values[at + 2] ?? 0,
      });
    }
    replies.push({ allowed, outcomes });
  }
  return replies;
}
