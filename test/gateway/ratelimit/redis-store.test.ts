import type { Cluster, Redis } from 'ioredis';
import { Redis as RedisClient } from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rateLimitHeaders } from '../../../gateway/src/ratelimit/headers.ts';
import { counterKey } from '../../../gateway/src/ratelimit/keys.ts';
import type { RateLimitDecision, RateLimiter } from '../../../gateway/src/ratelimit/limiter.ts';
import { createMemoryLimiter } from '../../../gateway/src/ratelimit/memory-store.ts';
import {
  createRateLimitMetrics,
  type RateLimitMetrics,
} from '../../../gateway/src/ratelimit/metrics.ts';
import { createRateLimitRedis, redisReady } from '../../../gateway/src/ratelimit/redis-client.ts';
import {
  createRedisLimiter,
  FAILURES_TO_DEGRADE,
  type RedisLimiterOptions,
} from '../../../gateway/src/ratelimit/redis-store.ts';
import type { RateLimitRule } from '../../../gateway/src/snapshot/schema.ts';
import { type RedisServer, startRedis } from '../../support/redis-server.ts';

const apiRule = (requests: number, periodSeconds: number): RateLimitRule => ({
  scope: 'api',
  target: 'platform/design-api',
  requests,
  periodSeconds,
});
const productRule = (requests: number, periodSeconds: number): RateLimitRule => ({
  scope: 'product',
  target: 'platform/apiway-platform',
  requests,
  periodSeconds,
});
const subscriptionRule = (requests: number, periodSeconds: number): RateLimitRule => ({
  scope: 'subscription',
  target: 'acme/acme-platform',
  requests,
  periodSeconds,
});

/** Clients and limiters of one test, closed after it. */
function harness() {
  const clients: (Redis | Cluster)[] = [];
  const limiters: RateLimiter[] = [];
  const logs: { level: number; msg: string }[] = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => void logs.push(JSON.parse(line)) },
  );

  async function connect(
    url: string,
    options: { cluster?: boolean; commandTimeoutMs?: number } = {},
  ) {
    const client = createRateLimitRedis({
      url,
      commandTimeoutMs: options.commandTimeoutMs ?? 2_000,
      ...options,
    });
    clients.push(client);
    expect(await redisReady(client, 10_000)).toBe(true);
    return client;
  }

  async function limiter(
    url: string,
    options: Partial<RedisLimiterOptions> & { cluster?: boolean; commandTimeoutMs?: number } = {},
  ): Promise<RateLimiter> {
    const { cluster, ...rest } = options;
    const redis = await connect(url, {
      ...(cluster === undefined ? {} : { cluster }),
      commandTimeoutMs: options.commandTimeoutMs ?? 2_000,
    });
    const created = createRedisLimiter({
      redis,
      logger,
      commandTimeoutMs: 2_000,
      fallback: { replicas: 1 },
      ...rest,
    });
    limiters.push(created);
    return created;
  }

  async function close() {
    await Promise.all(limiters.splice(0).map((limiter) => limiter.close()));
    for (const client of clients.splice(0)) client.disconnect();
    logs.length = 0;
  }

  return { connect, limiter, logs, close };
}

async function eventually(
  condition: () => Promise<boolean> | boolean,
  what: string,
): Promise<void> {
  for (let attempt = 0; attempt < 1_000; attempt++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`never happened: ${what}`);
}

async function gauge(metrics: RateLimitMetrics): Promise<number | undefined> {
  return (await metrics.degraded.get()).values[0]?.value;
}

const allowedCount = (decisions: RateLimitDecision[]) =>
  decisions.filter((decision) => decision.allowed).length;

describe('Redis limiter', () => {
  let server: RedisServer;
  let admin: Redis;
  const test = harness();

  beforeAll(async () => {
    server = await startRedis();
    admin = new RedisClient(server.url);
  });
  afterEach(() => test.close());
  afterAll(async () => {
    admin?.disconnect();
    await server?.stop();
  });

  it('is exact across replicas: 3 limiters on 3 connections, 300 concurrent requests, a limit of 100 admits 100', async () => {
    const replicas = await Promise.all([0, 1, 2].map(() => test.limiter(server.url)));
    const rule = apiRule(100, 10);
    const decisions = await Promise.all(
      Array.from(
        { length: 300 },
        (_, index) =>
          replicas[index % 3]?.check('exact/consumer', [rule]) as Promise<RateLimitDecision>,
      ),
    );
    expect(decisions.some((decision) => decision.degraded)).toBe(false);
    expect(allowedCount(decisions)).toBe(100);
    // Serialised by Redis: each admitted request saw a distinct count.
    const remaining = decisions
      .filter((decision) => decision.allowed)
      .map((decision) => decision.states[0]?.remaining);
    expect(new Set(remaining).size).toBe(100);
    expect(Math.min(...(remaining as number[]))).toBe(0);
  });

  it('decides three limits in one Redis call per request (MONITOR)', async () => {
    const limiter = await test.limiter(server.url);
    const rules = [apiRule(100, 1), productRule(1000, 60), subscriptionRule(50, 1)];
    await limiter.check('calls/consumer', rules); // loads the script (EVALSHA, then EVAL once)
    const monitor = await admin.monitor();
    const sent: string[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      // Commands a script runs are reported with the source `lua`: they are not round trips.
      if (source !== 'lua') sent.push(String(args[0]).toLowerCase());
    });
    try {
      for (let i = 0; i < 20; i++) await limiter.check('calls/consumer', rules);
      await eventually(() => sent.length >= 20, 'MONITOR saw the calls');
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      monitor.disconnect();
    }
    expect(sent).toEqual(Array.from({ length: 20 }, () => 'evalsha'));
  });

  it('sends the decisions asked for together in one call, each counted as if alone', async () => {
    const limiter = await test.limiter(server.url);
    const rules = [apiRule(30, 60), subscriptionRule(1_000, 3600)];
    await limiter.check('batch/warm-up', rules); // loads the script
    const monitor = await admin.monitor();
    const sent: string[] = [];
    const inScript: string[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      (source === 'lua' ? inScript : sent).push(String(args[0]).toLowerCase());
    });
    let decisions: RateLimitDecision[];
    try {
      // 50 at once, as 50 connections' requests read in one turn: 40 for one consumer (limit 30),
      // 10 for others.
      decisions = await Promise.all(
        Array.from({ length: 50 }, (_, index) =>
          limiter.check(index < 40 ? 'batch/busy' : `batch/other-${index}`, rules),
        ),
      );
      await eventually(() => sent.length >= 1, 'MONITOR saw the call');
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      monitor.disconnect();
    }
    expect(sent).toEqual(['evalsha']);
    // 11 consumers × 2 counters: each counter read once and written once for the whole call,
    // however many of its requests counted on it (40 of them on the busy consumer's two).
    const times = (command: string) => inScript.filter((name) => name === command).length;
    expect(times('hmget')).toBe(22);
    expect(times('hset')).toBe(22);
    const busy = decisions.slice(0, 40);
    expect(allowedCount(busy)).toBe(30);
    // In the order asked: the first 30 admitted with 29, 28, ... 0 left, the last 10 rejected.
    expect(busy.slice(0, 30).map((decision) => decision.states[0]?.remaining)).toEqual(
      Array.from({ length: 30 }, (_, index) => 29 - index),
    );
    expect(
      busy.slice(30).every((decision) => !decision.allowed && decision.retryAfterSeconds),
    ).toBe(true);
    expect(decisions.slice(40).every((decision) => decision.allowed)).toBe(true);
    expect(decisions.slice(40).map((decision) => decision.states[0]?.remaining)).toEqual(
      Array.from({ length: 10 }, () => 29),
    );
  });

  it('admits all rules or none: a rejection consumes nothing, and replicas agree on it', async () => {
    const [first, second] = [await test.limiter(server.url), await test.limiter(server.url)];
    const wide = productRule(5, 60);
    const narrow = subscriptionRule(3, 60);
    for (let i = 0; i < 3; i++)
      expect((await first?.check('all/consumer', [wide, narrow]))?.allowed).toBe(true);
    const rejected = await second?.check('all/consumer', [wide, narrow]);
    expect(rejected?.allowed).toBe(false);
    expect(rejected?.states.map((state) => state.remaining)).toEqual([2, 0]);
    expect((await second?.check('all/consumer', [wide]))?.allowed).toBe(true);
    expect((await first?.check('all/consumer', [wide]))?.allowed).toBe(true);
    expect((await second?.check('all/consumer', [wide]))?.allowed).toBe(false);
  });

  it('answers headers that follow the counter, and a Retry-After after which the retry succeeds', async () => {
    const limiter = await test.limiter(server.url);
    const rules = [apiRule(3, 1), productRule(100, 60)];
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const headers = rateLimitHeaders(
        (await limiter.check('headers/consumer', rules)) as RateLimitDecision,
      );
      expect(headers['ratelimit-policy']).toBe('"api-1s";q=3;w=1, "product-1m";q=100;w=60');
      remaining.push(headers.ratelimit as string);
    }
    expect(remaining).toEqual([
      '"api-1s";r=2;t=1, "product-1m";r=99;t=60',
      '"api-1s";r=1;t=1, "product-1m";r=98;t=60',
      '"api-1s";r=0;t=1, "product-1m";r=97;t=60',
    ]);
    const rejected = await limiter.check('headers/consumer', rules);
    expect(rejected.allowed).toBe(false);
    const wait = rejected.retryAfterMs as number;
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(1_000);
    expect(rateLimitHeaders(rejected)['retry-after']).toBe(String(Math.ceil(wait / 1000)));
    await new Promise((resolve) => setTimeout(resolve, wait));
    const retried = await limiter.check('headers/consumer', rules);
    expect(retried.allowed).toBe(true);
  });

  it('decides like the memory store: the Lua script and the TypeScript are one algorithm', async () => {
    const redisLimiter = await test.limiter(server.url);
    const memoryLimiter = createMemoryLimiter();
    const ruleSets = [
      [apiRule(7, 3600)],
      [apiRule(7, 3600), productRule(11, 3600)],
      [productRule(11, 3600), subscriptionRule(5, 7200)],
      [apiRule(7, 3600), apiRule(4, 3600), subscriptionRule(5, 7200)],
      [],
    ];
    const seen: { redis: string[]; memory: string[] } = { redis: [], memory: [] };
    let seed = 7;
    for (let i = 0; i < 60; i++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      const rules = ruleSets[seed % ruleSets.length] as RateLimitRule[];
      const consumer = `parity/${seed % 2}`;
      const summary = (decision: RateLimitDecision) =>
        `${decision.allowed} ${decision.states.map((state) => state.remaining).join(',')}`;
      seen.redis.push(summary(await redisLimiter.check(consumer, rules)));
      seen.memory.push(summary(await memoryLimiter.check(consumer, rules)));
    }
    expect(seen.redis).toEqual(seen.memory);
    expect(seen.redis.filter((line) => line.startsWith('false')).length).toBeGreaterThan(10);
  });

  it('lets the counters of an idle consumer expire', async () => {
    const limiter = await test.limiter(server.url);
    const rules = [apiRule(5, 2), productRule(5, 60)];
    await limiter.check('expiry/consumer', rules);
    const ttl = await Promise.all(
      rules.map((rule) => admin.pttl(counterKey('expiry/consumer', rule))),
    );
    // One period plus one bucket (a sixtieth of it) after the newest request.
    expect(ttl[0]).toBeGreaterThan(0);
    expect(ttl[0]).toBeLessThanOrEqual(2_000 + 34);
    expect(ttl[1]).toBeGreaterThan(2_034);
    expect(ttl[1]).toBeLessThanOrEqual(61_000);
  });

  it('counts metrics by result and store, with no consumer in any label', async () => {
    const registry = new Registry();
    const metrics = createRateLimitMetrics(registry);
    const limiter = await test.limiter(server.url, { metrics });
    for (let i = 0; i < 3; i++) await limiter.check('metrics/consumer', [apiRule(2, 60)]);
    const text = await registry.metrics();
    expect(text).toContain('apiway_ratelimit_decisions_total{result="allowed",store="redis"} 2');
    expect(text).toContain('apiway_ratelimit_decisions_total{result="rejected",store="redis"} 1');
    expect(text).toContain('apiway_ratelimit_redis_seconds_count{result="ok"} 3');
    expect(text).toContain('apiway_ratelimit_degraded 0');
    expect(text).not.toContain('metrics/consumer');
  });
});

describe('Redis Cluster', () => {
  let server: RedisServer;
  const test = harness();
  beforeAll(async () => {
    server = await startRedis({ cluster: true });
  });
  afterEach(() => test.close());
  afterAll(() => server?.stop());

  it('decides rules of several scopes in one script: the consumer hash tag keeps them in one slot', async () => {
    const limiter = await test.limiter(server.url, { cluster: true });
    const rules = [apiRule(10, 60), productRule(20, 60), subscriptionRule(30, 3600)];
    const decisions: RateLimitDecision[] = [];
    for (let i = 0; i < 12; i++) decisions.push(await limiter.check('acme/acme-platform', rules));
    expect(decisions.some((decision) => decision.degraded)).toBe(false);
    expect(allowedCount(decisions)).toBe(10);
  });

  it('batches per consumer: concurrent decisions of many consumers, each exact', async () => {
    const limiter = await test.limiter(server.url, { cluster: true });
    const rules = [apiRule(5, 60), subscriptionRule(100, 3600)];
    const consumers = Array.from({ length: 8 }, (_, index) => `acme/cluster-${index}`);
    const decisions = await Promise.all(
      Array.from({ length: 80 }, (_, index) =>
        limiter
          .check(consumers[index % consumers.length] as string, rules)
          .then((decision) => ({ consumer: index % consumers.length, decision })),
      ),
    );
    expect(decisions.some(({ decision }) => decision.degraded)).toBe(false);
    for (let consumer = 0; consumer < consumers.length; consumer++) {
      const own = decisions.filter((entry) => entry.consumer === consumer);
      expect(allowedCount(own.map((entry) => entry.decision))).toBe(5);
    }
  });
});

describe('Redis outage', () => {
  let server: RedisServer;
  const test = harness();
  beforeAll(async () => {
    server = await startRedis();
  });
  afterEach(() => test.close());
  afterAll(() => server?.stop());

  it('keeps deciding under the local fallback limit while Redis is down, and counts exactly again once it is back', async () => {
    const registry = new Registry();
    const metrics = createRateLimitMetrics(registry);
    const options = {
      metrics,
      fallback: { replicas: 3 },
      commandTimeoutMs: 1_000,
      probe: { initialMs: 20, maxMs: 200 },
    };
    const limiter = await test.limiter(server.url, options);
    const rule = apiRule(10, 60);

    // Load from several consumers while Redis dies under it.
    let loading = true;
    let failures = 0;
    let served = 0;
    const load = Array.from({ length: 8 }, async (_, worker) => {
      while (loading) {
        try {
          await limiter.check(`outage/load-${worker}`, [rule]);
          served++;
        } catch {
          failures++;
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    });
    await eventually(() => served > 200, 'load running against Redis');
    await server.kill();
    await eventually(async () => (await gauge(metrics)) === 1, 'degraded gauge at 1');
    const servedWhenDegraded = served;
    await eventually(() => served > servedWhenDegraded + 200, 'load served while Redis is down');
    loading = false;
    await Promise.all(load);
    expect(failures).toBe(0);

    // A fresh consumer gets ceil(10 / 3) = 4 from this replica, and the headers say so.
    const during: RateLimitDecision[] = [];
    for (let i = 0; i < 6; i++) during.push(await limiter.check('outage/fresh', [rule]));
    expect(during.every((decision) => decision.degraded)).toBe(true);
    expect(allowedCount(during)).toBe(4);
    expect(during[0]?.states[0]?.rule.requests).toBe(4);
    expect(rateLimitHeaders(during[5] as RateLimitDecision)['ratelimit-policy']).toBe(
      '"api-1m";q=4;w=60',
    );

    await server.restart();
    await eventually(async () => (await gauge(metrics)) === 0, 'degraded gauge back at 0');

    // Exact again, and shared with another replica.
    const other = await test.limiter(server.url);
    const after: RateLimitDecision[] = [];
    for (let i = 0; i < 6; i++) after.push(await limiter.check('outage/after', [rule]));
    for (let i = 0; i < 6; i++) after.push(await other.check('outage/after', [rule]));
    expect(after.some((decision) => decision.degraded)).toBe(false);
    expect(allowedCount(after)).toBe(10);

    const lines = test.logs.map((line) => line.msg);
    expect(lines.filter((msg) => msg.startsWith('rate limits degraded'))).toHaveLength(1);
    expect(lines.filter((msg) => msg.startsWith('rate limits restored'))).toHaveLength(1);
    const text = await registry.metrics();
    expect(text).toMatch(
      /apiway_ratelimit_decisions_total\{result="allowed",store="fallback"\} [1-9]/,
    );
    expect(text).toMatch(
      /apiway_ratelimit_decisions_total\{result="rejected",store="fallback"\} [1-9]/,
    );
    expect(text).toMatch(/apiway_ratelimit_redis_seconds_count\{result="error"\} [1-9]/);
  });

  it('falls back when Redis stops answering, without throwing, and returns when it answers again', async () => {
    const registry = new Registry();
    const metrics = createRateLimitMetrics(registry);
    const limiter = await test.limiter(server.url, {
      metrics,
      fallback: { replicas: 2 },
      commandTimeoutMs: 200,
      probe: { initialMs: 20, maxMs: 200 },
    });
    const rule = apiRule(5, 60);
    expect((await limiter.check('stall/before', [rule])).degraded).toBe(false);

    server.pause();
    try {
      // Calls, not decisions, count as failures: concurrent decisions share one call.
      const stalled: RateLimitDecision[] = [];
      for (let call = 0; call < FAILURES_TO_DEGRADE; call++) {
        stalled.push(await limiter.check('stall/during', [rule]));
      }
      expect(stalled.every((decision) => decision.degraded && decision.allowed)).toBe(true);
      expect(stalled[0]?.states[0]?.rule.requests).toBe(3);
      expect(await gauge(metrics)).toBe(1);
    } finally {
      server.resume();
    }
    await eventually(async () => (await gauge(metrics)) === 0, 'degraded gauge back at 0');
    expect((await limiter.check('stall/after', [rule])).degraded).toBe(false);
  });

  it('takes one slow reply for a slow reply, not an outage: that request alone is decided locally', async () => {
    const registry = new Registry();
    const metrics = createRateLimitMetrics(registry);
    const limiter = await test.limiter(server.url, {
      metrics,
      fallback: { replicas: 2 },
      commandTimeoutMs: 200,
    });
    const rule = apiRule(5, 60);
    expect((await limiter.check('slow/consumer', [rule])).degraded).toBe(false);
    server.pause();
    let slow: RateLimitDecision;
    try {
      slow = await limiter.check('slow/consumer', [rule]);
    } finally {
      server.resume();
    }
    expect(slow.degraded).toBe(true);
    expect(await gauge(metrics)).toBe(0);
    const next = await limiter.check('slow/consumer', [rule]);
    expect(next.degraded).toBe(false);
    expect(test.logs.filter((line) => line.msg.startsWith('rate limits degraded'))).toHaveLength(0);
  });

  it('does not mistake a busy gateway for a slow Redis: replies that arrived while the event loop was blocked count', async () => {
    const limiter = await test.limiter(server.url, {
      fallback: { replicas: 2 },
      commandTimeoutMs: 50,
    });
    const rule = apiRule(5, 60);
    await limiter.check('busy/consumer', [rule]); // loads the script
    const pending = limiter.check('busy/consumer', [rule]);
    // Blocks this process well past the timeout while Redis answers.
    const until = Date.now() + 300;
    while (Date.now() < until) {
      /* busy */
    }
    const decision = await pending;
    expect(decision.degraded).toBe(false);
    expect(decision.states[0]?.remaining).toBe(3);
  });
});
