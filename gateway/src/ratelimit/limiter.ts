/**
 * The limiter's interface: one decision per request over every rule that applies. The Redis
 * store decides all of them in one atomic server-side script (one round trip); the memory store
 * has the same interface for standalone mode. Both count with the same sliding window
 * (`sliding-window.ts`; docs/rate-limits.md says why).
 */

import type { RateLimitRule } from '../snapshot/schema.ts';

export interface RuleState {
  /**
   * The rule as enforced. While the shared store is unreachable this is a copy of the given rule
   * with `requests` lowered to the local fallback limit (`ceil(requests / replicas)`), so the
   * headers advertise the quota actually in force.
   */
  rule: RateLimitRule;
  /**
   * Requests left in the window after this decision: 0 for a rule that is full. On a rejected
   * request the other rules report what they really have left (a rejection consumes nothing).
   */
  remaining: number;
  /**
   * Seconds (rounded up) until this rule's quota grows again: when `remaining` is 0, the wait
   * until it admits a request; otherwise until its oldest counted request leaves the window.
   */
  resetSeconds: number;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** One per rule, same order as the rules given. */
  states: RuleState[];
  /** When rejected: seconds until a retry can succeed (rounded up); drives `Retry-After`. */
  retryAfterSeconds?: number;
  /** When rejected: the same wait in milliseconds, unrounded. */
  retryAfterMs?: number;
  /** True when the shared store was unreachable and a local fallback decided. */
  degraded: boolean;
}

export interface RateLimiter {
  /**
   * Count one request of `consumer` (a credential id, or an external IdP subject) against every
   * rule. A request is admitted only when every rule admits it; a rejected request consumes
   * nothing. Never throws because the store is unreachable.
   */
  check(consumer: string, rules: readonly RateLimitRule[]): Promise<RateLimitDecision>;
  close(): Promise<void>;
}
