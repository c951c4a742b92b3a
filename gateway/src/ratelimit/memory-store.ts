/**
 * The in-process limiter: standalone mode without `--redis-url`, and the local fallback of the
 * Redis limiter. Same algorithm (`sliding-window.ts`), same keys, same decisions as Redis for one
 * gateway; nothing is shared between processes.
 *
 * Memory is bounded: a counter is dropped once its newest request has left the window (checked in
 * sweeps whose cost is amortised over the checks), and beyond `maxCounters` the least recently
 * counted ones go first (forgetting a counter can only admit more, never fail a request).
 */

import type { RateLimitRule } from '../snapshot/schema.ts';
import { planCounters, toDecision } from './decision.ts';
import type { RateLimitDecision, RateLimiter } from './limiter.ts';
import { type RateLimitMetrics, recordDecision } from './metrics.ts';
import { decideWindows, type WindowCounter } from './sliding-window.ts';

export interface MemoryLimiterOptions {
  /** Omitted: no metrics (the Redis limiter's fallback counts its own decisions). */
  metrics?: RateLimitMetrics;
  /** Milliseconds since the epoch; default `Date.now`. */
  now?: () => number;
  /** Most counters kept at once; default 100 000 (a few hundred bytes each). */
  maxCounters?: number;
}

export interface MemoryRateLimiter extends RateLimiter {
  /** Counters currently held (for tests and the benchmark). */
  readonly counters: number;
}

interface Counter extends WindowCounter {
  /** When its newest request leaves the window: from then on it counts nothing. */
  expiresAt: number;
}

const MIN_SWEEP_INTERVAL = 1024;

export function createMemoryLimiter(options: MemoryLimiterOptions = {}): MemoryRateLimiter {
  const now = options.now ?? Date.now;
  const maxCounters = options.maxCounters ?? 100_000;
  const counters = new Map<string, Counter>();
  let checksUntilSweep = MIN_SWEEP_INTERVAL;

  // A full sweep every max(1024, size) checks: O(1) per check, amortised.
  function sweep(nowMs: number): void {
    for (const [key, counter] of counters) {
      if (counter.expiresAt <= nowMs) counters.delete(key);
    }
    checksUntilSweep = Math.max(MIN_SWEEP_INTERVAL, counters.size);
  }

  function store(key: string, counter: Counter): void {
    // Deleted first so the Map's order stays "least recently counted first".
    counters.delete(key);
    counters.set(key, counter);
    // Guarded: creating a Map iterator walks over the entries deleted so far, so only when needed.
    if (counters.size <= maxCounters) return;
    for (const oldest of counters.keys()) {
      if (counters.size <= maxCounters) break;
      counters.delete(oldest);
    }
  }

  function decide(consumer: string, rules: readonly RateLimitRule[]): RateLimitDecision {
    const nowMs = now();
    if (--checksUntilSweep <= 0) sweep(nowMs);
    const plan = planCounters(consumer, rules);
    const windows = plan.keys.map(
      (key, index): Counter =>
        counters.get(key) ?? {
          periodMs: plan.periodsMs[index] ?? 0,
          buckets: [],
          total: 0,
          expiresAt: 0,
        },
    );
    const decision = decideWindows(windows, plan.rules, nowMs);
    if (decision.allowed) {
      for (const [index, key] of plan.keys.entries()) {
        const counter = windows[index] as Counter;
        counter.expiresAt = (counter.buckets.at(-1)?.lastMs ?? nowMs) + counter.periodMs;
        store(key, counter);
      }
    }
    return toDecision(rules, decision.outcomes, decision.allowed, false);
  }

  return {
    get counters() {
      return counters.size;
    },
    async check(consumer, rules) {
      const decision = decide(consumer, rules);
      recordDecision(options.metrics, decision.allowed, 'memory');
      return decision;
    },
    async close() {
      counters.clear();
    },
  };
}
