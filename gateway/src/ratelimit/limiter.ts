/**
 * The limiter's interface: one decision per request over every rule that applies. The Redis
 * store decides all of them in one atomic server-side script (one round trip); the memory store
 * has the same interface for standalone mode.
 */

import type { RateLimitRule } from '../snapshot/schema.ts';

export interface RuleState {
  rule: RateLimitRule;
  /** Requests left in the current window after this decision (0 when rejected). */
  remaining: number;
  /** Seconds until the window has room again / resets (rounded up). */
  resetSeconds: number;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** One per rule, same order as the rules given. */
  states: RuleState[];
  /** When rejected: seconds until a retry can succeed (rounded up); drives `Retry-After`. */
  retryAfterSeconds?: number;
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
