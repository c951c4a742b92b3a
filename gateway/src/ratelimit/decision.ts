/** What both stores share around the algorithm: which counters a request touches, and the decision they report. */

import type { RateLimitRule } from '../snapshot/schema.ts';
import { counterKey } from './keys.ts';
import type { RateLimitDecision } from './limiter.ts';
import type { WindowOutcome, WindowRule } from './sliding-window.ts';

export interface CounterPlan {
  /** Distinct counter keys, in first-use order. */
  keys: string[];
  /** Period of each key (ms). */
  periodsMs: number[];
  /** One per rule: which key it counts on, and its limit. */
  rules: WindowRule[];
}

/** The counters one request of `consumer` touches; rules that share a counter (same scope, target and period) share its key. */
export function planCounters(consumer: string, rules: readonly RateLimitRule[]): CounterPlan {
  const keys: string[] = [];
  const periodsMs: number[] = [];
  const byKey = new Map<string, number>();
  const planned = rules.map((rule) => {
    const key = counterKey(consumer, rule);
    let counter = byKey.get(key);
    if (counter === undefined) {
      counter = keys.length;
      byKey.set(key, counter);
      keys.push(key);
      periodsMs.push(rule.periodSeconds * 1000);
    }
    return { counter, limit: rule.requests };
  });
  return { keys, periodsMs, rules: planned };
}

export function toDecision(
  rules: readonly RateLimitRule[],
  outcomes: readonly WindowOutcome[],
  allowed: boolean,
  degraded: boolean,
): RateLimitDecision {
  let waitMs = 0;
  const states = rules.map((rule, index) => {
    const outcome = outcomes[index] ?? { count: 0, waitMs: 0, resetMs: rule.periodSeconds * 1000 };
    const remaining = Math.max(0, rule.requests - outcome.count);
    waitMs = Math.max(waitMs, outcome.waitMs);
    return {
      rule,
      remaining,
      resetSeconds: ceilSeconds(remaining === 0 ? outcome.waitMs : outcome.resetMs),
    };
  });
  if (allowed) return { allowed, states, degraded };
  // Every rule with room keeps it (a rejection consumes nothing), so the retry succeeds once the
  // slowest full rule has room: the longest wait.
  return {
    allowed,
    states,
    retryAfterSeconds: Math.max(1, ceilSeconds(waitMs)),
    retryAfterMs: waitMs,
    degraded,
  };
}

function ceilSeconds(ms: number): number {
  return Math.max(0, Math.ceil(ms / 1000));
}
