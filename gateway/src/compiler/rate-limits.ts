/** Rate-limit specs (`{requests, period}`) → the snapshot's rules. */

import type { RateLimitSpec } from '../resources/types.ts';
import type { RateLimitRule } from '../snapshot/schema.ts';

const PERIOD = /^([1-9][0-9]{0,8})(s|m|h|d)$/;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `1s`, `10s`, `1m`, `1h`, `1d` … → seconds; anything else (`1w`, `0s`, `1.5m`, `60`) → undefined. */
export function parsePeriod(period: string): number | undefined {
  const match = PERIOD.exec(period);
  if (!match) return undefined;
  return Number(match[1]) * (UNIT_SECONDS[match[2] as string] as number);
}

export type RuleScope = RateLimitRule['scope'];

/** The rules of one spec, or the first problem found in it (named by its `field`, e.g. `spec.rateLimit`). */
export function rateLimitRules(
  spec: RateLimitSpec | undefined,
  scope: RuleScope,
  target: string,
  field: string,
): { rules: RateLimitRule[] } | { problem: string } {
  if (spec === undefined) return { rules: [] };
  if (!Array.isArray(spec.limits)) return { problem: `${field}.limits must be a list` };
  const rules: RateLimitRule[] = [];
  for (const [index, limit] of spec.limits.entries()) {
    const periodSeconds = typeof limit?.period === 'string' ? parsePeriod(limit.period) : undefined;
    if (periodSeconds === undefined) {
      return {
        problem: `${field}.limits[${index}].period must be a number of seconds, minutes, hours or days such as 1s, 10m, 1h, 1d`,
      };
    }
    if (!Number.isSafeInteger(limit.requests) || limit.requests < 1) {
      return { problem: `${field}.limits[${index}].requests must be a positive integer` };
    }
    rules.push({ scope, target, requests: limit.requests, periodSeconds });
  }
  return { rules };
}
