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

import type { RateLimitDecision, RuleState } from './limiter.ts';

export function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  if (decision.states.length === 0) return {};
  const names = policyNames(decision.states);
  const policy = decision.states.map(
    (state, index) => `"${names[index]}";q=${state.rule.requests};w=${state.rule.periodSeconds}`,
  );
  const order = decision.states
    .map((state, index) => ({ state, index }))
    .sort(
      (a, b) =>
        a.state.remaining - b.state.remaining ||
        b.state.resetSeconds - a.state.resetSeconds ||
        a.index - b.index,
    );
  const current = order.map(
    ({ state, index }) => `"${names[index]}";r=${state.remaining};t=${state.resetSeconds}`,
  );
  const headers: Record<string, string> = {
    'ratelimit-policy': policy.join(', '),
    ratelimit: current.join(', '),
  };
  if (!decision.allowed)
    headers['retry-after'] = String(Math.max(1, decision.retryAfterSeconds ?? 1));
  return headers;
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
