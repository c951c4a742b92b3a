import { describe, expect, it } from 'vitest';
import { rateLimitHeaders } from '../../../gateway/src/ratelimit/headers.ts';
import { createMemoryLimiter } from '../../../gateway/src/ratelimit/memory-store.ts';
import type { RateLimitRule } from '../../../gateway/src/snapshot/schema.ts';

const perSecond: RateLimitRule = {
  scope: 'api',
  target: 'platform/design-api',
  requests: 3,
  periodSeconds: 1,
};
const perDay: RateLimitRule = {
  scope: 'api',
  target: 'platform/design-api',
  requests: 1000,
  periodSeconds: 86_400,
};
const perMinute: RateLimitRule = {
  scope: 'product',
  target: 'platform/apiway-platform',
  requests: 50,
  periodSeconds: 60,
};

function clock() {
  let now = Date.UTC(2026, 0, 1);
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('rateLimitHeaders', () => {
  it('advertises every policy and what is left of each, following the counter request by request', async () => {
    const time = clock();
    const limiter = createMemoryLimiter({ now: time.now });
    const rules = [perSecond, perDay, perMinute];
    const seen: Record<string, string>[] = [];
    for (let i = 0; i < 3; i++) {
      seen.push(rateLimitHeaders(await limiter.check('acme/acme-platform', rules)));
      time.advance(100);
    }
    for (const headers of seen) {
      expect(headers['ratelimit-policy']).toBe(
        '"api-1s";q=3;w=1, "api-1d";q=1000;w=86400, "product-1m";q=50;w=60',
      );
      expect(headers['retry-after']).toBeUndefined();
    }
    // The most restrictive first; `t` is when the quota next grows (the first request leaves its window).
    expect(seen.map((headers) => headers.ratelimit)).toEqual([
      '"api-1s";r=2;t=1, "product-1m";r=49;t=60, "api-1d";r=999;t=86400',
      '"api-1s";r=1;t=1, "product-1m";r=48;t=60, "api-1d";r=998;t=86400',
      '"api-1s";r=0;t=1, "product-1m";r=47;t=60, "api-1d";r=997;t=86400',
    ]);
  });

  it('sends Retry-After on a rejection: the real wait, rounded up, and never before the full policy frees up', async () => {
    const time = clock();
    const limiter = createMemoryLimiter({ now: time.now });
    const rules = [perSecond, perMinute];
    for (let i = 0; i < 3; i++) await limiter.check('c', rules);
    time.advance(300);
    const decision = await limiter.check('c', rules);
    const headers = rateLimitHeaders(decision);
    expect(decision.retryAfterMs).toBe(700);
    expect(headers['retry-after']).toBe('1');
    expect(headers.ratelimit).toBe('"api-1s";r=0;t=1, "product-1m";r=47;t=60');

    time.advance(700);
    expect((await limiter.check('c', rules)).allowed).toBe(true);
  });

  it('names two rules of one scope and period apart', () => {
    const headers = rateLimitHeaders({
      allowed: true,
      degraded: false,
      states: [
        { rule: perSecond, remaining: 2, resetSeconds: 1 },
        { rule: { ...perSecond, requests: 10 }, remaining: 9, resetSeconds: 1 },
        { rule: { ...perDay, periodSeconds: 7200 }, remaining: 5, resetSeconds: 10 },
        {
          rule: { ...perDay, scope: 'subscription', periodSeconds: 90 },
          remaining: 5,
          resetSeconds: 80,
        },
      ],
    });
    expect(headers['ratelimit-policy']).toBe(
      '"api-1s";q=3;w=1, "api-1s-2";q=10;w=1, "api-2h";q=1000;w=7200, "subscription-90s";q=1000;w=90',
    );
    expect(headers.ratelimit).toBe(
      '"api-1s";r=2;t=1, "subscription-90s";r=5;t=80, "api-2h";r=5;t=10, "api-1s-2";r=9;t=1',
    );
  });

  it('advertises the rules of each decision, whichever rule lists share a first rule', () => {
    const decide = (rules: RateLimitRule[]) =>
      rateLimitHeaders({
        allowed: true,
        degraded: false,
        states: rules.map((rule) => ({ rule, remaining: 1, resetSeconds: 1 })),
      })['ratelimit-policy'];
    // Two grants that start with the same rule object, asked for in turn.
    expect(decide([perSecond, perDay])).toBe('"api-1s";q=3;w=1, "api-1d";q=1000;w=86400');
    expect(decide([perSecond])).toBe('"api-1s";q=3;w=1');
    expect(decide([perSecond, perMinute])).toBe('"api-1s";q=3;w=1, "product-1m";q=50;w=60');
    expect(decide([perSecond, perDay])).toBe('"api-1s";q=3;w=1, "api-1d";q=1000;w=86400');
    // The local fallback's lowered copies advertise their own quota.
    expect(decide([{ ...perSecond, requests: 1 }, perDay])).toBe(
      '"api-1s";q=1;w=1, "api-1d";q=1000;w=86400',
    );
  });

  it('sends nothing when no limit applies', () => {
    expect(rateLimitHeaders({ allowed: true, degraded: false, states: [] })).toEqual({});
  });
});
