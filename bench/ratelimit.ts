/**
 * What the rate limiter costs per request: microseconds per decision for the memory and Redis
 * stores with 1 and 3 rules, sequentially (latency) and with 64 decisions in flight
 * (throughput), and how many Redis round trips one request costs. Prints figures, asserts
 * nothing. Without `redisUrl` it starts its own `redis-server` on a free port.
 *
 *   npx node bench/ratelimit.ts [--iterations 20000] [--consumers 1000] [--redis-url redis://127.0.0.1:PORT]
 */

import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pino from 'pino';
import type { RateLimiter } from '../gateway/src/ratelimit/limiter.ts';
import { createMemoryLimiter } from '../gateway/src/ratelimit/memory-store.ts';
import { createRateLimitRedis, redisReady } from '../gateway/src/ratelimit/redis-client.ts';
import { createRedisLimiter } from '../gateway/src/ratelimit/redis-store.ts';
import type { RateLimitRule } from '../gateway/src/snapshot/schema.ts';
import { startRedis } from '../test/support/redis-server.ts';

export interface RateLimitBenchOptions {
  /** Decisions per measurement; default 20 000. */
  iterations?: number;
  /** An existing Redis (its `apiway:rl:` keys get written); default: a private redis-server. */
  redisUrl?: string;
  /** Distinct consumers the decisions rotate over; default 1000 (each counter sees a request now and then). */
  consumers?: number;
  /** Where lines go; default console.log. */
  print?: (line: string) => void;
}

export interface RateLimitBenchResult {
  store: 'memory' | 'redis';
  rules: number;
  mode: 'sequential' | 'concurrent-64';
  iterations: number;
  microsPerDecision: number;
  /** CPU of this process (the gateway's side of the limiter: ioredis, the batches, the decisions) per decision, µs. */
  cpuMicrosPerDecision: number;
  /** Redis only: script calls (EVALSHA/EVAL) per request. */
  redisCallsPerRequest?: number;
  /** Redis only: Redis CPU per script call (µs, from INFO commandstats). */
  redisMicrosPerCall?: number;
  /** Redis only: Redis CPU per decision (µs): what bounds one Redis's throughput (batched calls share their overhead). */
  redisMicrosPerDecision?: number;
}

const RULE_SETS: Record<number, RateLimitRule[]> = {
  1: [{ scope: 'api', target: 'platform/design-api', requests: 1e9, periodSeconds: 1 }],
  3: [
    { scope: 'api', target: 'platform/design-api', requests: 1e9, periodSeconds: 1 },
    { scope: 'product', target: 'platform/apiway-platform', requests: 1e9, periodSeconds: 60 },
    { scope: 'subscription', target: 'acme/acme-platform', requests: 1e9, periodSeconds: 86_400 },
  ],
};
const IN_FLIGHT = 64;

export async function runRateLimitBench(
  options: RateLimitBenchOptions = {},
): Promise<RateLimitBenchResult[]> {
  const iterations = options.iterations ?? 20_000;
  const consumers = options.consumers ?? 1000;
  const print = options.print ?? console.log;
  const ownRedis = options.redisUrl === undefined ? await startRedis() : undefined;
  const url = options.redisUrl ?? (ownRedis?.url as string);
  const redis = createRateLimitRedis({ url, commandTimeoutMs: 5_000 });
  const admin = new Redis(url);
  const results: RateLimitBenchResult[] = [];
  try {
    if (!(await redisReady(redis, 10_000)))
      throw new Error(`Redis at ${new URL(url).host} is not reachable`);
    const stores: [RateLimitBenchResult['store'], RateLimiter][] = [
      ['memory', createMemoryLimiter()],
      [
        'redis',
        createRedisLimiter({
          redis,
          logger: pino({ level: 'silent' }),
          commandTimeoutMs: 5_000,
          fallback: { replicas: 1 },
        }),
      ],
    ];
    print(
      `rate limiter: ${iterations} decisions per line, ${consumers} consumers, limits never reached`,
    );
    for (const [store, limiter] of stores) {
      for (const ruleCount of [1, 3]) {
        const rules = RULE_SETS[ruleCount] as RateLimitRule[];
        await measure(limiter, rules, consumers, Math.min(iterations, 2_000), 1); // warm-up (and script load)
        for (const [mode, inFlight] of [
          ['sequential', 1],
          ['concurrent-64', IN_FLIGHT],
        ] as const) {
          const before = store === 'redis' ? await scriptStats(admin) : { calls: 0, micros: 0 };
          const cpuBefore = process.cpuUsage();
          const seconds = await measure(limiter, rules, consumers, iterations, inFlight);
          const cpu = process.cpuUsage(cpuBefore);
          const result: RateLimitBenchResult = {
            store,
            rules: ruleCount,
            mode,
            iterations,
            microsPerDecision: (seconds * 1e6) / iterations,
            cpuMicrosPerDecision: (cpu.user + cpu.system) / iterations,
          };
          if (store === 'redis') {
            const after = await scriptStats(admin);
            result.redisCallsPerRequest = (after.calls - before.calls) / iterations;
            result.redisMicrosPerCall =
              (after.micros - before.micros) / Math.max(1, after.calls - before.calls);
            result.redisMicrosPerDecision = (after.micros - before.micros) / iterations;
          }
          results.push(result);
          print(
            `${store.padEnd(6)} ${ruleCount} rule${ruleCount === 1 ? ' ' : 's'} ${mode.padEnd(13)} ` +
              `${result.microsPerDecision.toFixed(1).padStart(8)} µs/decision` +
              `  ${result.cpuMicrosPerDecision.toFixed(1).padStart(6)} µs of CPU here` +
              (result.redisCallsPerRequest === undefined
                ? ''
                : `  ${result.redisCallsPerRequest.toFixed(2)} Redis calls/request` +
                  `  ${(result.redisMicrosPerCall ?? 0).toFixed(1)} µs of Redis CPU/call` +
                  `  ${(result.redisMicrosPerDecision ?? 0).toFixed(1)} µs of Redis CPU/decision`),
          );
        }
      }
      await limiter.close();
    }
  } finally {
    redis.disconnect();
    admin.disconnect();
    await ownRedis?.stop();
  }
  return results;
}

/** Seconds taken by `iterations` decisions, `inFlight` at a time. */
async function measure(
  limiter: RateLimiter,
  rules: RateLimitRule[],
  consumers: number,
  iterations: number,
  inFlight: number,
): Promise<number> {
  let next = 0;
  const worker = async () => {
    while (next < iterations) {
      const index = next++;
      await limiter.check(`bench/consumer-${index % consumers}`, rules);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  return (performance.now() - started) / 1000;
}

/** EVALSHA + EVAL calls the server has answered and the CPU they took (commands run inside scripts are counted apart). */
async function scriptStats(admin: Redis): Promise<{ calls: number; micros: number }> {
  const info = await admin.info('commandstats');
  const stats = { calls: 0, micros: 0 };
  for (const match of info.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+),usec=(\d+)/gm)) {
    stats.calls += Number(match[1]);
    stats.micros += Number(match[2]);
  }
  return stats;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      iterations: { type: 'string' },
      consumers: { type: 'string' },
      'redis-url': { type: 'string' },
    },
  });
  await runRateLimitBench({
    ...(values.iterations === undefined ? {} : { iterations: Number(values.iterations) }),
    ...(values.consumers === undefined ? {} : { consumers: Number(values.consumers) }),
    ...(values['redis-url'] === undefined ? {} : { redisUrl: values['redis-url'] }),
  });
}
