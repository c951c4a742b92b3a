/**
 * Step 5: count the request against every limit of the consumer's grant (Api, Product,
 * Subscription, in the grant's order), in one limiter decision. The consumer is the credential
 * (Subscription) id, so a token and an API key of one Subscription share their counters.
 *
 * Anonymous requests (public or optional operations without a credential) are not counted: the
 * limits are per consumer. Returns the rate-limit headers for the response; throws 429
 * `rate_limited` with `Retry-After` and the same headers when any limit is exhausted.
 */

import { GatewayError } from '../errors.ts';
import { rateLimitHeaders } from '../ratelimit/headers.ts';
import type { RateLimitDecision, RateLimiter } from '../ratelimit/limiter.ts';
import type { Consumer } from './authenticate.ts';

export async function enforceRateLimit(
  limiter: RateLimiter,
  consumer: Consumer | undefined,
): Promise<{ headers: Record<string, string>; decision?: RateLimitDecision }> {
  if (!consumer || consumer.grant.rateLimit.length === 0) return { headers: {} };
  const decision = await limiter.check(consumer.credential.id, consumer.grant.rateLimit);
  const headers = rateLimitHeaders(decision);
  if (!decision.allowed) {
    throw new GatewayError(
      'rate_limited',
      'Too many requests: a rate limit of this subscription is exhausted.',
      {
        // rateLimitHeaders sets `retry-after` on a rejection; the fallback only guards its absence.
        headers: {
          'retry-after': String(Math.max(1, decision.retryAfterSeconds ?? 1)),
          ...headers,
        },
      },
    );
  }
  return { headers, decision };
}
