import type { V1Secret } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { StoredCredentials } from '../../../gateway/src/credentials/issue-credentials.ts';
import type {
  ApiResource,
  ProductResource,
  SubscriptionResource,
} from '../../../gateway/src/resources/types.ts';
import {
  credentialSecretName,
  desiredCredentialSecret,
  isControlledBy,
  nextExpiry,
  readStoredCredentials,
  sameCredentialSecret,
} from '../../../operator/src/credentials/credential-secret.ts';
import { tokenUrls } from '../../../operator/src/credentials/token-urls.ts';

const subscription: SubscriptionResource = {
  apiVersion: 'apiway.net/v1alpha1',
  kind: 'Subscription',
  metadata: { name: 'acme-studio', namespace: 'acme', uid: 'uid-1', generation: 1 },
  spec: { api: { name: 'design-api', namespace: 'platform' } },
};
const stored: StoredCredentials = {
  clientId: 'acme.acme-studio.0a0b',
  clientSecret: {
    value: 'apw_cs_secret',
    rotation: 1,
    issuedAt: '2026-01-02T00:00:00.000Z',
    previous: [{ value: 'apw_cs_old', expiresAt: '2026-01-03T00:00:00.000Z' }],
  },
  apiKey: {
    value: 'apw_ak_primary',
    rotation: 0,
    issuedAt: '2026-01-01T00:00:00.000Z',
    previous: [],
  },
  apiKeySecondary: {
    value: 'apw_ak_secondary',
    rotation: 0,
    issuedAt: '2026-01-01T00:00:00.000Z',
    previous: [],
  },
};
const decode = (secret: V1Secret, key: string) =>
  Buffer.from(secret.data?.[key] ?? '', 'base64').toString('utf8');

describe('the credential Secret', () => {
  it('is named after the Subscription unless secretName says otherwise', () => {
    expect(credentialSecretName(subscription)).toBe('acme-studio-credentials');
    expect(
      credentialSecretName({ ...subscription, spec: { ...subscription.spec, secretName: 'mine' } }),
    ).toBe('mine');
  });

  it('holds the consumer keys, the token URL and the bookkeeping, and is controlled by its Subscription', () => {
    const secret = desiredCredentialSecret(
      subscription,
      stored,
      { token_url: 'https://gw/design/oauth2/v2/token' },
      undefined,
    );
    expect(Object.keys(secret.data ?? {}).sort()).toEqual([
      'api_key',
      'api_key_secondary',
      'apiway.json',
      'client_id',
      'client_secret',
      'token_url',
    ]);
    expect(decode(secret, 'client_secret')).toBe('apw_cs_secret');
    expect(decode(secret, 'token_url')).toBe('https://gw/design/oauth2/v2/token');
    expect(secret.metadata?.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'apiway-operator',
      'apiway.net/subscription': 'acme-studio',
    });
    expect(secret.metadata?.ownerReferences).toEqual([
      {
        apiVersion: 'apiway.net/v1alpha1',
        kind: 'Subscription',
        name: 'acme-studio',
        uid: 'uid-1',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(isControlledBy(secret, 'uid-1')).toBe(true);
    expect(isControlledBy(secret, 'uid-2')).toBe(false);
    // What was issued reads back exactly: a restart never issues anew.
    expect(readStoredCredentials(secret)).toEqual(stored);
  });

  it('keeps what others put on an existing Secret and changes nothing when nothing changed', () => {
    const existing = desiredCredentialSecret(subscription, stored, {}, undefined);
    existing.metadata = {
      ...existing.metadata,
      resourceVersion: '42',
      labels: { ...existing.metadata?.labels, team: 'acme' },
    };
    const desired = desiredCredentialSecret(subscription, stored, {}, existing);
    expect(desired.metadata?.resourceVersion).toBe('42');
    expect(desired.metadata?.labels?.team).toBe('acme');
    expect(sameCredentialSecret(existing, desired)).toBe(true);
    const rotated = desiredCredentialSecret(
      subscription,
      { ...stored, clientId: 'other' },
      {},
      existing,
    );
    expect(sameCredentialSecret(existing, rotated)).toBe(false);
  });

  it('reads the plain keys of a Secret whose bookkeeping was lost, rather than issuing new values', () => {
    const secret = desiredCredentialSecret(subscription, stored, {}, undefined);
    delete secret.data?.['apiway.json'];
    expect(readStoredCredentials(secret)).toMatchObject({
      clientId: stored.clientId,
      clientSecret: { value: 'apw_cs_secret', rotation: 0, previous: [] },
      apiKey: { value: 'apw_ak_primary' },
    });
  });

  it('knows when the next rotated-out value expires', () => {
    expect(nextExpiry(stored)).toEqual(new Date('2026-01-03T00:00:00.000Z'));
    expect(nextExpiry({ clientId: 'x' })).toBeUndefined();
  });
});

describe('token_url', () => {
  const api = (
    name: string,
    basePath: string,
    environments: string[],
    namespace = 'platform',
  ): ApiResource => ({
    apiVersion: 'apiway.net/v1alpha1',
    kind: 'Api',
    metadata: { name, namespace },
    spec: { basePath, environments, backend: { url: 'http://b' }, openapi: { inline: '' } },
  });
  const apis = new Map([
    ['platform/design-api', api('design-api', '/design/v1', ['alpha'])],
    ['platform/reco-api', api('reco-api', '/reco/v1', ['beta', 'alpha'])],
  ]);
  const product: ProductResource = {
    apiVersion: 'apiway.net/v1alpha1',
    kind: 'Product',
    metadata: { name: 'bundle', namespace: 'platform' },
    spec: { apis: [{ name: 'reco-api' }, { name: 'missing-api' }, { name: 'design-api' }] },
  };
  const lookups = {
    api: (key: string) => apis.get(key),
    product: (key: string) => (key === 'platform/bundle' ? product : undefined),
    publicUrls: new Map([['alpha', 'https://alpha.example.com']]),
  };

  it('is the Api token endpoint under the public URL of its first environment that has one', () => {
    expect(tokenUrls(subscription, lookups)).toEqual({
      token_url: 'https://alpha.example.com/design/v1/oauth2/v2/token',
    });
    expect(tokenUrls(subscription, { ...lookups, publicUrls: new Map() })).toEqual({
      token_url: '/design/v1/oauth2/v2/token',
    });
  });

  it('is one entry per existing member Api for a Product, token_url being the first', () => {
    const toProduct: SubscriptionResource = {
      ...subscription,
      spec: { product: { name: 'bundle', namespace: 'platform' } },
    };
    expect(tokenUrls(toProduct, lookups)).toEqual({
      token_url: 'https://alpha.example.com/reco/v1/oauth2/v2/token',
      'token_url.reco-api': 'https://alpha.example.com/reco/v1/oauth2/v2/token',
      'token_url.design-api': 'https://alpha.example.com/design/v1/oauth2/v2/token',
    });
  });

  it('is absent while the target does not exist', () => {
    expect(tokenUrls({ ...subscription, spec: { api: { name: 'nope' } } }, lookups)).toEqual({});
  });
});
