/**
 * The counting algorithm of both stores: a sliding window whose requests are grouped into at
 * most `BUCKETS_PER_WINDOW` buckets per period. The Lua script in `redis-script.ts` is the same
 * algorithm written for Redis; keep the two in step.
 *
 * A rule admits a request when the requests counted in the window, plus this one, stay within its
 * limit. A bucket is counted until its *newest* request leaves the window (`lastMs + period`), so
 * every request is counted for at least a full period: no window of that length ever holds more
 * than the limit (exact, never over-admitting), while memory stays bounded per counter. The price
 * is that the older requests of a bucket are held up to one bucket width (period / 60) too long:
 * a client pacing itself exactly at the limit may wait that much longer, never less.
 *
 * docs/rate-limits.md compares this with GCRA and the other sliding windows.
 */

export const BUCKETS_PER_WINDOW = 60;

export interface Bucket {
  /** `floor(time / width)`: which slice of time the bucket groups. */
  index: number;
  count: number;
  /** Time of the newest request in the bucket (ms): the whole bucket leaves the window at `lastMs + period`. */
  lastMs: number;
}

/**
 * One counter: its buckets, oldest first, and their total. The decision updates it in place (the
 * memory store owns it; allocating per request would cost more than the decision itself).
 */
export interface WindowCounter {
  periodMs: number;
  buckets: Bucket[];
  total: number;
}

/** One rule as the decision sees it: the counter it counts on (several rules may share one) and its limit. */
export interface WindowRule {
  counter: number;
  limit: number;
}

export interface WindowOutcome {
  /** Requests counted in the rule's window after the decision. */
  count: number;
  /** ms until the rule admits one more request (0: it would now). */
  waitMs: number;
  /** ms until the oldest counted bucket leaves the window, i.e. the quota next grows; the period when nothing is counted. */
  resetMs: number;
}

export interface WindowDecision {
  allowed: boolean;
  /** One per rule, in order. */
  outcomes: WindowOutcome[];
}

export function bucketWidthMs(periodMs: number): number {
  return Math.max(1, Math.ceil(periodMs / BUCKETS_PER_WINDOW));
}

/**
 * Decide one request against every rule, all or nothing: admitted only when every rule has room,
 * and then counted once on every counter (rules sharing a counter count it once). Updates the
 * counters in place: drops the buckets that left the window, counts an admitted request.
 */
export function decideWindows(
  counters: readonly WindowCounter[],
  rules: readonly WindowRule[],
  nowMs: number,
): WindowDecision {
  for (const counter of counters) dropExpired(counter, nowMs);
  const allowed = rules.every(
    (rule) => (counters[rule.counter] as WindowCounter).total + 1 <= rule.limit,
  );
  if (allowed) for (const counter of counters) admit(counter, nowMs);
  const outcomes = rules.map((rule) => {
    const counter = counters[rule.counter] as WindowCounter;
    const oldest = counter.buckets[0];
    return {
      count: counter.total,
      waitMs: waitMs(counter, rule.limit, nowMs),
      resetMs: oldest === undefined ? counter.periodMs : oldest.lastMs + counter.periodMs - nowMs,
    };
  });
  return { allowed, outcomes };
}

/** Oldest first, the buckets that left the window are a prefix: cut it. */
function dropExpired(counter: WindowCounter, nowMs: number): void {
  const { buckets, periodMs } = counter;
  let expired = 0;
  while (expired < buckets.length && (buckets[expired] as Bucket).lastMs + periodMs <= nowMs) {
    counter.total -= (buckets[expired] as Bucket).count;
    expired++;
  }
  if (expired > 0) buckets.splice(0, expired);
}

/**
 * Count one request at `nowMs` in the bucket of that time: nearly always the newest bucket, or a
 * new one after it. Should the clock step back behind the newest bucket, the request goes into the
 * bucket of its time if there is one, else into the newest bucket: held at least as long as it
 * should be, never less. Either way the buckets stay in time order.
 */
function admit(counter: WindowCounter, nowMs: number): void {
  const { buckets } = counter;
  const index = Math.floor(nowMs / bucketWidthMs(counter.periodMs));
  const bucket = bucketFor(buckets, index);
  if (bucket === undefined) {
    buckets.push({ index, count: 1, lastMs: nowMs });
  } else {
    bucket.count++;
    bucket.lastMs = Math.max(bucket.lastMs, nowMs);
  }
  counter.total++;
}

/** The bucket a request of bucket index `index` goes into; undefined: a new newest bucket. */
function bucketFor(buckets: readonly Bucket[], index: number): Bucket | undefined {
  const newest = buckets.at(-1);
  if (newest === undefined || newest.index < index) return undefined;
  if (newest.index === index) return newest;
  return buckets.findLast((candidate) => candidate.index === index) ?? newest;
}

/** ms until at most `limit - 1` requests are counted, if nothing else is admitted meanwhile. */
function waitMs(counter: WindowCounter, limit: number, nowMs: number): number {
  if (counter.total < limit) return 0;
  // A limit below 1 never admits anything; say "a period" rather than "never".
  if (limit < 1) return counter.periodMs;
  let left = counter.total;
  for (const bucket of counter.buckets) {
    left -= bucket.count;
    if (left < limit) return bucket.lastMs + counter.periodMs - nowMs;
  }
  return counter.periodMs;
}
