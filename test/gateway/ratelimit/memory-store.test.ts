import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMemoryLimiter } from '../../../gateway/src/ratelimit/memory-store.ts';
import { createRateLimitMetrics } from '../../../gateway/src/ratelimit/metrics.ts';
import type { RateLimitRule } from '../../../gateway/src/snapshot/schema.ts';

const T0 = Date.UTC(2026, 0, 1);

function clock(start = T0) {
  let now = start;
  return {
    now: () => now,
    set: (ms: number) => {
      now = ms;
    },
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const rule = (
  requests: number,
  periodSeconds: number,
  scope: RateLimitRule['scope'] = 'api',
): RateLimitRule => ({
  scope,
  target: scope === 'subscription' ? 'acme/acme-platform' : 'platform/design-api',
  requests,
  periodSeconds,
});

describe('memory limiter', () => {
  it('admits exactly the limit, remaining falling by one per request, then rejects', async () => {
    const time = clock();
    const limiter = createMemoryLimiter({ now: time.now });
    const remaining: number[] = [];
    for (let i = 0; i < 5; i++) {
      const decision = await limiter.check('acme/acme-platform', [rule(5, 60)]);
      expect(decision.allowed).toBe(true);
      expect(decision.degraded).toBe(false);
      remaining.push(decision.states[0]?.remaining ?? -1);
      time.advance(10);
    }
    expect(remaining).toEqual([4, 3, 2, 1, 0]);
    const rejected = await limiter.check('acme/acme-platform', [rule(5, 60)]);
    expect(rejected.allowed).toBe(false);
    expect(rejected.states[0]?.remaining).toBe(0);
  });

  it('says exactly when a rejected consumer may retry: not a millisecond earlier, and it then succeeds', async () => {
    const time = clock();
    const limiter = createMemoryLimiter({ now: time.now });
    for (let i = 0; i < 3; i++) await limiter.check('c', [rule(3, 10)]);
    time.advance(4_200);
    const rejected = await limiter.check('c', [rule(3, 10)]);
    expect(rejected.allowed).toBe(false);
    // The burst was at T0: it leaves the 10 s window at T0 + 10 s, 5.8 s from now.
    expect(rejected.retryAfterMs).toBe(5_800);
    expect(rejected.retryAfterSeconds).toBe(6);
    expect(rejected.states[0]?.resetSeconds).toBe(6);

    time.advance(5_799);
    expect((await limiter.check('c', [rule(3, 10)])).allowed).toBe(false);
    time.advance(1);
    const admitted = await limiter.check('c', [rule(3, 10)]);
    expect(admitted.allowed).toBe(true);
    expect(admitted.states[0]?.remaining).toBe(2);
  });

  it('never admits more than the limit in any window, whatever the arrival pattern', async () => {
    const time = clock();
    const limiter = createMemoryLimiter({ now: time.now });
    const limit = rule(20, 2);
    const admitted: number[] = [];
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 5_000; i++) {
      // Bursts and pauses: most gaps tiny, some long.
      time.advance(random() < 0.05 ? Math.floor(random() * 3_000) : Math.floor(random() * 20));
      if ((await limiter.check('c', [limit])).allowed) admitted.push(time.now());
    }
    let worst = 0;
    let start = 0;
    for (let end = 0; end < admitted.length; end++) {
      while ((admitted[start] as number) <= (admitted[end] as number) - 2_000) start++;
      worst = Math.max(worst, end - start + 1);
    }
    expect(worst).toBe(20);
  });

  it('serves at least 98% of the quota to a consumer that always asks for more', async () => {
    const time = clock();
    const limiter = createMemoryLimiter({ now: time.now });
    let admitted = 0;
    // A request every 5 ms for 100 windows of 2 s: demand far above 20 per 2 s.
    for (let i = 0; i < 40_000; i++) {
      if ((await limiter.check('c', [rule(20, 2)])).allowed) admitted++;
      time.advance(5);
    }
    expect(admitted).toBeLessThanOrEqual(100 * 20);
    expect(admitted).toBeGreaterThanOrEqual(0.98 * 100 * 20);
  });

  it('admits all rules or none: a rejected request consumes nothing on the rules that had room', async () => {
    const time = clock();
    const limiter = createMemoryLimiter({ now: time.now });
    const wide = rule(5, 60, 'product');
    const narrow = rule(3, 60, 'subscription');
    for (let i = 0; i < 3; i++)
      expect((await limiter.check('c', [wide, narrow])).allowed).toBe(true);
    for (let i = 0; i < 4; i++) {
      const rejected = await limiter.check('c', [wide, narrow]);
      expect(rejected.allowed).toBe(false);
      expect(rejected.states.map((state) => state.remaining)).toEqual([2, 0]);
    }
    // The wide rule still has exactly the 2 left that the rejections did not take.
    expect((await limiter.check('c', [wide])).allowed).toBe(true);
    expect((await limiter.check('c', [wide])).allowed).toBe(true);
    expect((await limiter.check('c', [wide])).allowed).toBe(false);
  });

  it('waits for the slowest full rule before a retry can succeed', async () => {
    const time = clock();
    const limiter = createMemoryLimiter({ now: time.now });
    const perSecond = rule(2, 1);
    const perMinute = rule(3, 60, 'product');
    await limiter.check('c', [perSecond, perMinute]);
    await limiter.check('c', [perSecond, perMinute]);
    time.advance(1_000);
    await limiter.check('c', [perSecond, perMinute]);
    const rejected = await limiter.check('c', [perSecond, perMinute]);
    expect(rejected.allowed).toBe(false);
    expect(rejected.retryAfterMs).toBe(59_000);
    expect(rejected.retryAfterSeconds).toBe(59);
  });

  it('counts per consumer and per rule: other consumers and other Apis are untouched', async () => {
    const limiter = createMemoryLimiter({ now: clock().now });
    const designApi = rule(1, 60);
    const otherApi = { ...designApi, target: 'platform/recommendations-api' };
    expect((await limiter.check('acme/a', [designApi])).allowed).toBe(true);
    expect((await limiter.check('acme/a', [designApi])).allowed).toBe(false);
    expect((await limiter.check('acme/b', [designApi])).allowed).toBe(true);
    expect((await limiter.check('acme/a', [otherApi])).allowed).toBe(true);
  });

  it('counts once on a counter that two rules share, against each rule own limit', async () => {
    const limiter = createMemoryLimiter({ now: clock().now });
    const loose = rule(10, 60);
    const strict = rule(2, 60);
    const first = await limiter.check('c', [loose, strict]);
    expect(first.states.map((state) => state.remaining)).toEqual([9, 1]);
    await limiter.check('c', [loose, strict]);
    const rejected = await limiter.check('c', [loose, strict]);
    expect(rejected.allowed).toBe(false);
    expect(rejected.states.map((state) => state.remaining)).toEqual([8, 0]);
  });

  it('forgets idle consumers and never holds more than maxCounters', async () => {
    const time = clock();
    const limiter = createMemoryLimiter({ now: time.now, maxCounters: 500 });
    for (let i = 0; i < 2_000; i++) await limiter.check(`consumer-${i}`, [rule(5, 1)]);
    expect(limiter.counters).toBe(500);
    // The most recently counted are the ones kept.
    expect((await limiter.check('consumer-1999', [rule(1, 1)])).allowed).toBe(false);
    expect((await limiter.check('consumer-0', [rule(1, 1)])).allowed).toBe(true);

    time.advance(1_001);
    for (let i = 0; i < 1_100; i++) await limiter.check('steady', [rule(10_000, 1)]);
    expect(limiter.counters).toBe(1);
  });

  it('counts its decisions as the memory store', async () => {
    const registry = new Registry();
    const limiter = createMemoryLimiter({ metrics: createRateLimitMetrics(registry) });
    for (let i = 0; i < 3; i++) await limiter.check('acme/metrics', [rule(2, 60)]);
    const text = await registry.metrics();
    expect(text).toContain('apiway_ratelimit_decisions_total{result="allowed",store="memory"} 2');
    expect(text).toContain('apiway_ratelimit_decisions_total{result="rejected",store="memory"} 1');
    expect(text).not.toContain('acme/metrics');
  });

  it('admits everything when no rule applies', async () => {
    const limiter = createMemoryLimiter();
    const decision = await limiter.check('c', []);
    expect(decision).toEqual({ allowed: true, states: [], degraded: false });
  });
});
