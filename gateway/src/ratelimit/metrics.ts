/**
 * The limiter's Prometheus metrics, on the Registry `main.ts` passes in. Label values come from
 * closed sets: never a consumer, credential or Api id.
 */

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Who decided: the shared Redis, the standalone memory store, or the local fallback while Redis is unreachable. */
export type DecisionStore = 'redis' | 'memory' | 'fallback';

export interface RateLimitMetrics {
  decisions: Counter<'result' | 'store'>;
  /** One observation per script call; `result` is `ok` or `error` (timeouts and unreachable Redis included). */
  redisSeconds: Histogram<'result'>;
  /** 1 while decisions come from the local fallback, 0 otherwise. */
  degraded: Gauge;
}

export function createRateLimitMetrics(registry: Registry): RateLimitMetrics {
  const registers = [registry];
  const metrics: RateLimitMetrics = {
    decisions: new Counter({
      name: 'apiway_ratelimit_decisions_total',
      help: 'Rate-limit decisions by result (allowed, rejected) and by who decided (redis, memory, fallback).',
      labelNames: ['result', 'store'],
      registers,
    }),
    redisSeconds: new Histogram({
      name: 'apiway_ratelimit_redis_seconds',
      help: 'Round trip of the rate-limit script to Redis (one per request, whatever the number of limits), by result.',
      labelNames: ['result'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers,
    }),
    degraded: new Gauge({
      name: 'apiway_ratelimit_degraded',
      help: '1 while Redis is unreachable and rate limits come from the local fallback (each limit divided by the replica count).',
      registers,
    }),
  };
  metrics.degraded.set(0);
  return metrics;
}

export function recordDecision(
  metrics: RateLimitMetrics | undefined,
  allowed: boolean,
  store: DecisionStore,
): void {
  metrics?.decisions.inc({ result: allowed ? 'allowed' : 'rejected', store });
}
