import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  API_KEY_PREFIX,
  CLIENT_SECRET_PREFIX,
  issueCredentials,
  toIssuedCredentials,
} from '../../../gateway/src/credentials/issue-credentials.ts';
import type {
  SubscriptionResource,
  SubscriptionSpec,
} from '../../../gateway/src/resources/types.ts';

function subscription(spec: Partial<SubscriptionSpec> = {}): SubscriptionResource {
  return {
    apiVersion: 'apiway.net/v1alpha1',
    kind: 'Subscription',
    metadata: { namespace: 'acme', name: 'acme-platform' },
    spec: { product: { name: 'apiway-platform', namespace: 'platform' }, ...spec },
  };
}

const t0 = new Date('2025-01-01T00:00:00Z');
const later = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

describe('issueCredentials', () => {
  it('issues a client id, a client secret and two API keys on first sight', () => {
    const { credentials, changes } = issueCredentials(subscription(), undefined, t0, randomBytes);

    expect(credentials.clientId).toMatch(/^acme\.acme-platform\.[0-9a-f]{8}$/);
    // 256 bits of entropy, base64url, behind a prefix secret scanners can match.
    expect(credentials.clientSecret?.value).toMatch(/^apw_cs_[A-Za-z0-9_-]{43}$/);
    expect(credentials.apiKey?.value).toMatch(/^apw_ak_[A-Za-z0-9_-]{43}$/);
    expect(credentials.apiKeySecondary?.value).toMatch(/^apw_ak_[A-Za-z0-9_-]{43}$/);
    expect(credentials.apiKey?.value).not.toBe(credentials.apiKeySecondary?.value);
    expect(changes.map((c) => `${c.credential}:${c.action}`)).toEqual([
      'clientId:issued',
      'clientSecret:issued',
      'apiKey:issued',
      'apiKeySecondary:issued',
    ]);
  });

  it('lifting a suspension keeps every credential but revokes the tokens minted before it', () => {
    const first = issueCredentials(subscription(), undefined, t0, randomBytes);
    const suspended = issueCredentials(
      subscription({ suspended: true }),
      first.credentials,
      later(60),
      randomBytes,
    );
    expect(suspended.changes).toEqual([{ credential: 'tokens', action: 'suspended' }]);
    const resumed = issueCredentials(
      subscription(),
      suspended.credentials,
      later(120),
      randomBytes,
    );
    expect(resumed.changes).toEqual([{ credential: 'tokens', action: 'resumed' }]);
    expect(resumed.credentials.clientSecret).toEqual(first.credentials.clientSecret);
    expect(resumed.credentials.apiKey).toEqual(first.credentials.apiKey);
    expect(resumed.credentials.tokensNotBefore).toBe(later(120).toISOString());
    expect(toIssuedCredentials(resumed.credentials, later(130)).tokensNotBefore).toBe(
      later(120).toISOString(),
    );
    // Later reloads keep it, and change nothing.
    const again = issueCredentials(subscription(), resumed.credentials, later(999), randomBytes);
    expect(again.changes).toEqual([]);
    expect(again.credentials.tokensNotBefore).toBe(later(120).toISOString());
  });

  it('never regenerates what was issued (a restart or reload changes nothing)', () => {
    const first = issueCredentials(subscription(), undefined, t0, randomBytes);
    const again = issueCredentials(subscription(), first.credentials, later(3600), randomBytes);

    expect(again.credentials).toEqual(first.credentials);
    expect(again.changes).toEqual([]);
  });

  it('rotates the client secret when its counter is raised, keeping the old one for the grace period', () => {
    const first = issueCredentials(subscription(), undefined, t0, randomBytes);
    const rotated = issueCredentials(
      subscription({ credentials: { rotation: { clientSecret: 1, gracePeriodSeconds: 600 } } }),
      first.credentials,
      later(10),
      randomBytes,
    );

    const oldSecret = first.credentials.clientSecret?.value;
    expect(rotated.credentials.clientSecret?.value).not.toBe(oldSecret);
    expect(rotated.credentials.clientSecret?.previous).toEqual([
      { value: oldSecret, expiresAt: later(610).toISOString() },
    ]);
    // Only what the counter names changes.
    expect(rotated.credentials.clientId).toBe(first.credentials.clientId);
    expect(rotated.credentials.apiKey).toEqual(first.credentials.apiKey);
    expect(rotated.changes).toEqual([
      {
        credential: 'clientSecret',
        action: 'rotated',
        previousValidUntil: later(610).toISOString(),
      },
    ]);

    // Both work during the grace period, the new one first.
    const issued = toIssuedCredentials(rotated.credentials, later(20));
    expect(issued.clientSecrets.map((s) => s.value)).toEqual([
      rotated.credentials.clientSecret?.value,
      oldSecret,
    ]);

    // After it, the old one is gone from what the compiler sees and from what is stored.
    expect(toIssuedCredentials(rotated.credentials, later(611)).clientSecrets).toHaveLength(1);
    const pruned = issueCredentials(
      subscription({ credentials: { rotation: { clientSecret: 1, gracePeriodSeconds: 600 } } }),
      rotated.credentials,
      later(611),
      randomBytes,
    );
    expect(pruned.credentials.clientSecret?.previous).toEqual([]);
    expect(pruned.changes).toEqual([{ credential: 'clientSecret', action: 'expired' }]);
  });

  it('uses a one-day grace period by default and rotates each API key on its own counter', () => {
    const first = issueCredentials(subscription(), undefined, t0, randomBytes);
    const rotated = issueCredentials(
      subscription({ credentials: { rotation: { apiKeySecondary: 2 } } }),
      first.credentials,
      t0,
      randomBytes,
    );

    expect(rotated.credentials.apiKey).toEqual(first.credentials.apiKey);
    expect(rotated.credentials.apiKeySecondary?.rotation).toBe(2);
    expect(rotated.credentials.apiKeySecondary?.previous[0]?.expiresAt).toBe(
      later(86_400).toISOString(),
    );
    const issued = toIssuedCredentials(rotated.credentials, t0);
    expect(issued.apiKeys.map((k) => k.value)).toEqual([
      first.credentials.apiKey?.value,
      rotated.credentials.apiKeySecondary?.value,
      first.credentials.apiKeySecondary?.value,
    ]);
    expect(issued.apiKeys[2]?.expiresAt).toBe(later(86_400).toISOString());
  });

  it('does not rotate when a counter is lowered or stays the same', () => {
    const spec = { credentials: { rotation: { apiKey: 3 } } };
    const first = issueCredentials(subscription(spec), undefined, t0, randomBytes);
    expect(first.credentials.apiKey?.rotation).toBe(3);

    const lowered = issueCredentials(
      subscription({ credentials: { rotation: { apiKey: 1 } } }),
      first.credentials,
      later(5),
      randomBytes,
    );
    expect(lowered.credentials.apiKey).toEqual(first.credentials.apiKey);
    expect(lowered.changes).toEqual([]);
  });

  it('issues no API keys when they are disabled, and revokes them when they get disabled', () => {
    const none = issueCredentials(
      subscription({ credentials: { apiKey: false } }),
      undefined,
      t0,
      randomBytes,
    );
    expect(none.credentials.apiKey).toBeUndefined();
    expect(toIssuedCredentials(none.credentials, t0).apiKeys).toEqual([]);

    const first = issueCredentials(subscription(), undefined, t0, randomBytes);
    const disabled = issueCredentials(
      subscription({ credentials: { apiKey: false } }),
      first.credentials,
      t0,
      randomBytes,
    );
    expect(disabled.credentials.apiKey).toBeUndefined();
    expect(disabled.changes.map((c) => `${c.credential}:${c.action}`)).toEqual([
      'apiKey:removed',
      'apiKeySecondary:removed',
    ]);
  });

  it('issues no client secret to a public authorization-code client without client credentials', () => {
    const { credentials } = issueCredentials(
      subscription({
        credentials: {
          clientCredentials: false,
          authorizationCode: { redirectUris: ['https://app.example/cb'], public: true },
        },
      }),
      undefined,
      t0,
      randomBytes,
    );
    expect(credentials.clientSecret).toBeUndefined();
    expect(credentials.clientId).toBeDefined();
  });

  it('is deterministic given its randomness', () => {
    const counter = () => {
      let n = 0;
      return (bytes: number) => Buffer.alloc(bytes, n++);
    };
    const a = issueCredentials(subscription(), undefined, t0, counter());
    const b = issueCredentials(subscription(), undefined, t0, counter());
    expect(a).toEqual(b);
    expect(a.credentials.clientSecret?.value.startsWith(CLIENT_SECRET_PREFIX)).toBe(true);
    expect(a.credentials.apiKey?.value.startsWith(API_KEY_PREFIX)).toBe(true);
  });
});
