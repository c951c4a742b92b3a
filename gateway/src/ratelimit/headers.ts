/**
 * Rate-limit response headers, per draft-ietf-httpapi-ratelimit-headers-11 (23 May 2026, the
 * latest revision; https://datatracker.ietf.org/doc/draft-ietf-httpapi-ratelimit-headers/11/):
 *
 *   ratelimit-policy: "api-1s";q=100;w=1, "api-1d";q=100000;w=86400
 *   ratelimit: "api-1s";r=0;t=1, "api-1d";r=99873;t=86400
 *   retry-after: 1                      (429 only)
 *
 * - `RateLimit-Policy` (§3) lists every rule that applies, in the grant's order (the field
 *   "SHOULD remain consistent over a sequence of responses"): `q` the quota, `w` the window in
 *   seconds. Policy names are sf-strings built from the rule's scope and period, `-2`, `-3`…
 *   when two rules would share one; they carry no consumer or credential, so no `pk` is sent.
 * - `RateLimit` (§4) gives each policy's state after this request: `r` what is left, `t` the
 *   seconds until that quota grows (for `r=0`, the wait until it admits again). The most
 *   restrictive item comes first (fewest left, then longest wait).
 * - `Retry-After` (RFC 9110 §10.2.3) on a rejected request: whole seconds, rounded up, of the
 *   real wait until every rule has room. It is never earlier than the end of the `t` of the
 *   items with `r=0` (draft §6).
 *
 * Field names are lower-case (HTTP/2 and the rest of the pipeline write them so).
 */

import type { RateLimitRule } from '../snapshot/schema.ts';
import type { RateLimitDecision, RuleState } from './limiter.ts';

export function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  const { states } = decision;
  if (states.length === 0) return {};
  const { names, value } = policyOf(states);
  // The most restrictive first: an insertion sort of the (at most a couple of dozen) indexes.
  const order: number[] = [];
  for (let index = 0; index < states.length; index++) {
    let at = order.length;
    while (at > 0 && before(states, index, order[at - 1] as number)) at--;
    order.splice(at, 0, index);
  }
  let current = '';
  for (const index of order) {
    const state = states[index] as RuleState;
    if (current !== '') current += ', ';
    current += `"${names[index]}";r=${state.remaining};t=${state.resetSeconds}`;
  }
  const headers: Record<string, string> = { 'ratelimit-policy': value, ratelimit: current };
  if (!decision.allowed)
    headers['retry-after'] = String(Math.max(1, decision.retryAfterSeconds ?? 1));
  return headers;
}

/** Whether state `a` is more restrictive than `b`: fewer left, then a longer wait, then the grant's order. */
function before(states: readonly RuleState[], a: number, b: number): boolean {
  const x = states[a] as RuleState;
  const y = states[b] as RuleState;
  if (x.remaining !== y.remaining) return x.remaining < y.remaining;
  if (x.resetSeconds !== y.resetSeconds) return x.resetSeconds > y.resetSeconds;
  return a < b;
}

interface Policy {
  rules: readonly RateLimitRule[];
  names: string[];
  /** The `ratelimit-policy` value. */
  value: string;
}

/**
 * The policy names and `ratelimit-policy` value of the decided rules, formatted once per rule
 * list: a grant's rules are objects of the snapshot, shared by every request of its consumers,
 * so they are remembered by identity (the first rule's, then every rule checked). Rules made
 * per decision (the local fallback's lowered copies) miss and are formatted each time; the
 * WeakMap lets a replaced snapshot's rules go.
 */
const policies = new WeakMap<RateLimitRule, Policy>();

function policyOf(states: readonly RuleState[]): Policy {
  const first = (states[0] as RuleState).rule;
  const cached = policies.get(first);
  if (cached && sameRules(cached.rules, states)) return cached;
  const rules = states.map((state) => state.rule);
  const names = policyNames(states);
  const value = states
    .map(({ rule }, index) => `"${names[index]}";q=${rule.requests};w=${rule.periodSeconds}`)
    .join(', ');
  const policy = { rules, names, value };
  policies.set(first, policy);
  return policy;
}

function sameRules(rules: readonly RateLimitRule[], states: readonly RuleState[]): boolean {
  if (rules.length !== states.length) return false;
  for (let index = 0; index < rules.length; index++) {
    if (rules[index] !== (states[index] as RuleState).rule) return false;
  }
  return true;
}

/** `api-1s`, `product-1m`, `subscription-1d`…: only letters, digits and `-`, so no sf-string escaping is needed. */
export function policyNames(states: readonly RuleState[]): string[] {
  const seen = new Map<string, number>();
  return states.map(({ rule }) => {
    const base = `${rule.scope}-${formatPeriod(rule.periodSeconds)}`;
    const uses = (seen.get(base) ?? 0) + 1;
    seen.set(base, uses);
    return uses === 1 ? base : `${base}-${uses}`;
  });
}

function formatPeriod(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}
