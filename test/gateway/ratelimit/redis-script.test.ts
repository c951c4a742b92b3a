/**
 * The Lua script and `sliding-window.ts` are one algorithm written twice: driven through the same
 * simulated clock, the script on a real Redis and the TypeScript must decide every request alike,
 * to the millisecond (counts, waits, resets), while windows slide, buckets expire, the clock
 * jumps far ahead, rules share counters, and requests come in batches (one script call deciding
 * several requests in order, consumers repeated within it).
 */

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planCounters } from '../../../gateway/src/ratelimit/decision.ts';
import {
  type BatchedRequest,
  batchArguments,
  parseBatchReply,
  rateLimitLua,
  type ScriptReply,
} from '../../../gateway/src/ratelimit/redis-script.ts';
import {
  decideWindows,
  type WindowCounter,
} from '../../../gateway/src/ratelimit/sliding-window.ts';
import type { RateLimitRule } from '../../../gateway/src/snapshot/schema.ts';
import { type RedisServer, startRedis } from '../../support/redis-server.ts';

type SimulatedScript = (
  numberOfKeys: number,
  ...keysAndArguments: (string | number)[]
) => Promise<unknown>;

let server: RedisServer;
let redis: Redis;
let decideInRedis: SimulatedScript;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
  redis.defineCommand('apiwayRateLimitAt', { lua: rateLimitLua('arguments') });
  decideInRedis = (
    (redis as unknown as Record<string, SimulatedScript>).apiwayRateLimitAt as SimulatedScript
  ).bind(redis);
});

afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

/** One script call deciding `requests` in order at `now`. */
async function decideBatch(requests: BatchedRequest[], now: number): Promise<ScriptReply[]> {
  const { keys, args } = batchArguments(requests);
  const reply = await decideInRedis(keys.length, ...keys, ...args, now);
  return parseBatchReply(
    reply,
    requests.map((request) => request.rules.length),
  );
}

async function decideOne(request: BatchedRequest, now: number): Promise<ScriptReply> {
  return (await decideBatch([request], now))[0] as ScriptReply;
}

const rule = (
  scope: RateLimitRule['scope'],
  requests: number,
  periodSeconds: number,
): RateLimitRule => ({
  scope,
  target: `platform/${scope}`,
  requests,
  periodSeconds,
});

describe('the Redis script', () => {
  it('decides exactly like sliding-window.ts through a simulated clock', async () => {
    const counters = new Map<string, WindowCounter>();
    const decideInMemory = (consumer: string, rules: RateLimitRule[], nowMs: number) => {
      const plan = planCounters(consumer, rules);
      const windows = plan.keys.map((key, index) => {
        let counter = counters.get(key);
        if (!counter) {
          counter = { periodMs: plan.periodsMs[index] ?? 0, buckets: [], total: 0 };
          counters.set(key, counter);
        }
        return counter;
      });
      return decideWindows(windows, plan.rules, nowMs);
    };

    const ruleSets: RateLimitRule[][] = [
      [rule('api', 5, 1)],
      [rule('api', 5, 1), rule('product', 12, 2)],
      [rule('product', 12, 2), rule('subscription', 40, 60)],
      [rule('api', 5, 1), rule('api', 3, 1), rule('subscription', 40, 60)],
    ];
    let seed = 2026;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let now = Date.UTC(2026, 4, 1, 12);
    let rejected = 0;
    let batched = 0;
    for (let step = 0; step < 3_000; ) {
      const gap = random();
      // Mostly bursts, sometimes a pause, rarely a jump of several windows.
      now +=
        gap < 0.01
          ? 10_000 + Math.floor(random() * 200_000)
          : gap < 0.1
            ? Math.floor(random() * 1_500)
            : Math.floor(random() * 30);
      // Half the calls carry one request, the others up to 8 (the same consumer may recur).
      const size = random() < 0.5 ? 1 : 1 + Math.floor(random() * 8);
      const asked = Array.from({ length: size }, () => ({
        consumer: `parity/${Math.floor(random() * 3)}`,
        rules: ruleSets[Math.floor(random() * ruleSets.length)] as RateLimitRule[],
      }));
      const fromRedis = await decideBatch(
        asked.map(({ consumer, rules }) => planCounters(consumer, rules)),
        now,
      );
      for (const [index, { consumer, rules }] of asked.entries()) {
        const fromMemory = decideInMemory(consumer, rules, now);
        expect({ step, ...fromRedis[index] }).toEqual({ step, ...fromMemory });
        if (!fromMemory.allowed) rejected++;
        step++;
      }
      if (size > 1) batched += size;
    }
    expect(batched).toBeGreaterThan(1_000);
    expect(rejected).toBeGreaterThan(300);
  });

  it('keeps its running total equal to its buckets, chained from the oldest to the newest', async () => {
    const rules = [rule('api', 1_000, 1)];
    const plan = planCounters('invariants/consumer', rules);
    let now = Date.UTC(2026, 4, 1, 13);
    for (let step = 0; step < 500; step++) {
      now += step % 50 === 0 ? 700 : 7;
      await decideOne(plan, now);
    }
    const fields = await redis.hgetall(plan.keys[0] as string);
    const buckets = new Map(
      Object.entries(fields)
        .filter(([name]) => !['n', 'o', 'z'].includes(name))
        .map(([name, value]) => [
          Number(name),
          value.split(':').map(Number) as [number, number, number],
        ]),
    );
    const sum = [...buckets.values()].reduce((total, [count]) => total + count, 0);
    expect(Number(fields.n)).toBe(sum);
    // Following the gaps from `o` visits every bucket, in order, and ends at `z`.
    const visited: number[] = [];
    for (let index: number | undefined = Number(fields.o); index !== undefined; ) {
      visited.push(index);
      const gap: number = buckets.get(index)?.[2] ?? 0;
      index = gap === 0 ? undefined : index + gap;
    }
    expect(visited).toEqual([...buckets.keys()].sort((a, b) => a - b));
    expect(visited.at(-1)).toBe(Number(fields.z));
    // At most one window (plus the bucket at its edge) is kept.
    expect(buckets.size).toBeLessThanOrEqual(61);
  });

  it('goes on counting a counter an earlier gateway wrote (a rolling upgrade shares its keys)', async () => {
    // The stored layout of docs/rate-limits.md, written by hand: two requests, 30 s and 10 s ago,
    // in a 60-s window of 1-s buckets. The script must read and extend it as stored, whatever
    // text it writes numbers with itself.
    const rules = [rule('api', 3, 60)];
    const plan = planCounters('upgrade/consumer', rules);
    const key = plan.keys[0] as string;
    const now = Date.UTC(2026, 4, 1, 15);
    const bucket = now / 1000;
    await redis.hset(key, {
      n: '2',
      o: String(bucket - 30),
      z: String(bucket - 10),
      [String(bucket - 30)]: '1:5:20',
      [String(bucket - 10)]: '1:3:0',
    });
    const third = await decideOne(plan, now);
    expect(third.allowed).toBe(true);
    // It used the last request of the window: the next one waits for the oldest to leave.
    expect(third.outcomes[0]).toEqual({ count: 3, waitMs: 30_005, resetMs: 30_005 });
    // Full: the wait is until the request of 30 s ago (5 ms into its bucket) leaves the window.
    const fourth = await decideOne(plan, now + 1);
    expect(fourth.allowed).toBe(false);
    expect(fourth.outcomes[0]?.waitMs).toBe(30_004);
    const after = await decideOne(plan, now + 30_005);
    expect(after.allowed).toBe(true);
    expect(after.outcomes[0]?.count).toBe(3);
    const fields = await redis.hgetall(key);
    expect(fields).toMatchObject({ n: '3', o: String(bucket - 10), z: String(bucket + 30) });
    expect(fields[String(bucket - 30)]).toBeUndefined();
  });

  it('rebuilds a counter whose fields disagree instead of miscounting', async () => {
    const rules = [rule('api', 3, 60)];
    const plan = planCounters('repair/consumer', rules);
    const key = plan.keys[0] as string;
    const now = Date.UTC(2026, 4, 1, 14);
    const call = (at: number) => decideOne(plan, at);
    await call(now);
    await call(now + 1_000);
    // As if `n` had drifted and the chain were broken.
    await redis.hset(key, 'n', '7');
    await redis.hdel(key, 'o', 'z');
    const decision = await call(now + 2_000);
    expect(decision.allowed).toBe(true);
    expect(decision.outcomes[0]?.count).toBe(3);
    expect((await call(now + 3_000)).allowed).toBe(false);
  });
});
