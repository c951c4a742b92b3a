import { describe, expect, it } from 'vitest';
import { counterKey } from '../../../gateway/src/ratelimit/keys.ts';
import type { RateLimitRule } from '../../../gateway/src/snapshot/schema.ts';

const api: RateLimitRule = {
  scope: 'api',
  target: 'platform/design-api',
  requests: 100,
  periodSeconds: 1,
};

describe('counterKey', () => {
  it('is readable for ordinary ids, with the consumer as the hash tag', () => {
    expect(counterKey('acme/acme-platform', api)).toBe(
      'apiway:rl:{acme/acme-platform}:a:1:platform/design-api',
    );
    expect(
      counterKey('acme/acme-platform', {
        ...api,
        scope: 'product',
        target: 'platform/p',
        periodSeconds: 60,
      }),
    ).toBe('apiway:rl:{acme/acme-platform}:p:60:platform/p');
  });

  it('keeps the counter when only the number of requests changes, and starts another for another period', () => {
    expect(counterKey('c', { ...api, requests: 5 })).toBe(counterKey('c', api));
    expect(counterKey('c', { ...api, periodSeconds: 10 })).not.toBe(counterKey('c', api));
  });

  it('hashes what could break the hash tag, is long, or is personal, and nothing collides', () => {
    const consumers = [
      'acme/acme-platform',
      'user@example.com',
      'a}b',
      '{x}',
      '#abc',
      'x'.repeat(65),
      'x'.repeat(64),
      'idp:platform/acme-b2c:5f0c',
      'sp ace',
      'é',
    ];
    const keys = consumers.map((consumer) => counterKey(consumer, api));
    expect(new Set(keys).size).toBe(consumers.length);
    for (const key of keys) {
      // Exactly one `{…}` hash tag: Redis Cluster hashes only what is inside it.
      expect(key).toMatch(/^apiway:rl:\{[^{}]+\}:a:1:platform\/design-api$/);
      expect(key).not.toContain('@');
    }
    expect(counterKey('user@example.com', api)).toMatch(/^apiway:rl:\{#[A-Za-z0-9_-]{22}\}:/);
    expect(counterKey('c', { ...api, target: 't'.repeat(100) })).toMatch(
      /:a:1:#[A-Za-z0-9_-]{22}$/,
    );
  });

  it('tells scopes apart even with one target id', () => {
    const scopes: RateLimitRule['scope'][] = ['api', 'product', 'subscription'];
    const keys = scopes.map((scope) => counterKey('c', { ...api, scope, target: 'ns/same' }));
    expect(new Set(keys).size).toBe(3);
  });
});
