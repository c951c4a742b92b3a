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
 * ARGV: request count Q, then per request: its rule count R and key count K; K indexes (1-based)
 *       into KEYS; per rule its counter (1-based index into the request's K keys) and limit; per
 *       key its period and bucket width in ms (`bucketWidthMs`: TypeScript is the one source of it).
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
 * A rejected request writes only to drop buckets that left the window. An admitted one writes its
 * bucket and `n o z`; one that starts a bucket also sets the expiry, to one period after the end
 * of that bucket (later requests in it need no other): an idle consumer costs nothing.
 *
 * Every number stored (indices ≈ ms / width, counts, offsets) stays below 10^14, which Lua
 * converts to text exactly (`%.14g`): no formatting is needed, and none is paid for.
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

local function encode(count, offset, gap)
  return count .. ':' .. offset .. ':' .. gap
end

-- n, o, z, the bucket of now, the oldest bucket, and the newest one when a request may be
-- appended after it (there is no bucket of now yet).
local function load(key, current)
  local head = redis.call('HMGET', key, 'n', 'o', 'z', current)
  local s = { n = tonumber(head[1]) or 0, o = tonumber(head[2]), z = tonumber(head[3]), changed = false }
  s.cc, s.coff, s.cgap = parse(head[4])
  if s.o then
    if s.o == current then s.oc, s.ooff, s.ogap = s.cc, s.coff, s.cgap
    else s.oc, s.ooff, s.ogap = parse(redis.call('HGET', key, s.o)) end
  end
  if s.z then
    if s.z == current then s.zc, s.zoff, s.zgap = s.cc, s.coff, s.cgap
    elseif s.z == s.o then s.zc, s.zoff, s.zgap = s.oc, s.ooff, s.ogap
    elseif not s.cc then s.zc, s.zoff, s.zgap = parse(redis.call('HGET', key, s.z)) end
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
    redis.call('HDEL', key, s.o)
    s.changed = true
    if s.ogap == 0 then
      s.o, s.z = nil, nil
    else
      s.o = s.o + s.ogap
      if s.o == current then s.oc, s.ooff, s.ogap = s.cc, s.coff, s.cgap
      elseif s.o == s.z and s.zc then s.oc, s.ooff, s.ogap = s.zc, s.zoff, s.zgap
      else s.oc, s.ooff, s.ogap = parse(redis.call('HGET', key, s.o)) end
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
    args[#args + 1] = bucket[1]
    args[#args + 1] = encode(bucket[2], bucket[3], following and following[1] - bucket[1] or 0)
    total = total + bucket[2]
  end
  args[#args + 1] = 'n'
  args[#args + 1] = total
  args[#args + 1] = 'o'
  args[#args + 1] = live[1][1]
  args[#args + 1] = 'z'
  args[#args + 1] = live[#live][1]
  redis.call('HSET', key, unpack(args))
  redis.call('PEXPIRE', key, (live[#live][1] + 1) * width + period - now)
end

-- One request: its keys (names), its rules (counter index into keys, limit), its keys' periods
-- and bucket widths. Appends its reply (allowed, then per rule count, wait, reset) to reply.
local function decide(keys, counters, limits, periods, widths, reply)
  local states = {}
  for k = 1, #keys do
    local key, period, width = keys[k], periods[k], widths[k]
    local current = math.floor(now / width)
    local s = load(key, current)
    if not (consistent(s) and prune(key, s, period, width, current) and consistent(s)) then
      rebuild(key, period, width)
      s = load(key, current)
    elseif s.changed then
      if s.o then redis.call('HSET', key, 'n', s.n, 'o', s.o, 'z', s.z)
      else redis.call('DEL', key) end
    end
    states[k] = s
  end

  local allowed = true
  for r = 1, #counters do
    if states[counters[r]].n + 1 > limits[r] then allowed = false end
  end

  if allowed then
    for k = 1, #keys do
      local key, s, period, width = keys[k], states[k], periods[k], widths[k]
      local current = math.floor(now / width)
      local offset = now - current * width
      local writes, started = nil, false
      if s.cc then
        s.cc, s.coff = s.cc + 1, math.max(s.coff, offset)
        writes = { current, encode(s.cc, s.coff, s.cgap) }
        if s.o == current then s.oc, s.ooff = s.cc, s.coff end
        if s.z == current then s.zc, s.zoff = s.cc, s.coff end
      elseif s.z and current < s.z then
        s.zc = s.zc + 1
        writes = { s.z, encode(s.zc, s.zoff, 0) }
        if s.o == s.z then s.oc = s.zc end
      else
        started = true
        writes = { current, encode(1, offset, 0) }
        if s.z then
          writes[3], writes[4] = s.z, encode(s.zc, s.zoff, current - s.z)
          if s.o == s.z then s.ogap = current - s.z end
        else
          s.o, s.oc, s.ooff, s.ogap = current, 1, offset, 0
        end
        s.z, s.zc, s.zoff, s.zgap = current, 1, offset, 0
      end
      s.n = s.n + 1
      writes[#writes + 1] = 'n'
      writes[#writes + 1] = s.n
      writes[#writes + 1] = 'o'
      writes[#writes + 1] = s.o
      writes[#writes + 1] = 'z'
      writes[#writes + 1] = s.z
      redis.call('HSET', key, unpack(writes))
      if started then redis.call('PEXPIRE', key, (current + 1) * width + period - now) end
    end
  end

  reply[#reply + 1] = allowed and 1 or 0
  for r = 1, #counters do
    local k, limit = counters[r], limits[r]
    local key, s, period, width = keys[k], states[k], periods[k], widths[k]
    local wait = 0
    if s.n >= limit then
      wait = period
      if limit >= 1 and s.o then
        -- Oldest first, until enough requests have left the window for one more.
        local left, index, count, offset, gap = s.n, s.o, s.oc, s.ooff, s.ogap
        while count do
          left = left - count
          if left < limit then
            wait = index * width + offset + period - now
            break
          end
          if gap == 0 then break end
          index = index + gap
          count, offset, gap = parse(redis.call('HGET', key, index))
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

-- The batch, in order: each request sees what the ones before it counted.
local reply = {}
local at = 2
for _ = 1, tonumber(ARGV[1]) do
  local rule_count, key_count = tonumber(ARGV[at]), tonumber(ARGV[at + 1])
  at = at + 2
  local keys, counters, limits, periods, widths = {}, {}, {}, {}, {}
  for k = 1, key_count do keys[k] = KEYS[tonumber(ARGV[at + k - 1])] end
  at = at + key_count
  for r = 1, rule_count do
    counters[r], limits[r] = tonumber(ARGV[at + 2 * r - 2]), tonumber(ARGV[at + 2 * r - 1])
  end
  at = at + 2 * rule_count
  for k = 1, key_count do
    periods[k], widths[k] = tonumber(ARGV[at + 2 * k - 2]), tonumber(ARGV[at + 2 * k - 1])
  end
  at = at + 2 * key_count
  decide(keys, counters, limits, periods, widths, reply)
end
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
}

/** KEYS and ARGV of a call deciding `requests` in order (see above); a key shared by requests is sent once. */
export function batchArguments(requests: readonly BatchedRequest[]): {
  keys: string[];
  args: number[];
} {
  const keys: string[] = [];
  const keyIndex = new Map<string, number>();
  const args: number[] = [requests.length];
  for (const request of requests) {
    args.push(request.rules.length, request.keys.length);
    for (const key of request.keys) {
      let index = keyIndex.get(key);
      if (index === undefined) {
        keys.push(key);
        index = keys.length;
        keyIndex.set(key, index);
      }
      args.push(index);
    }
    for (const rule of request.rules) args.push(rule.counter + 1, rule.limit);
    for (const periodMs of request.periodsMs) args.push(periodMs, bucketWidthMs(periodMs));
  }
  return { keys, args };
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
