/**
 * A small environment for the OAuth tests: two Apis (ES256 and RS256), a Product-style
 * credential granted on both, and credentials exercising each client-authentication rule.
 * Real keys, real hashes: nothing is mocked.
 */

import { type CryptoKey, importJWK, type JWK } from 'jose';
import {
  generateSigningKey,
  type LoadedKeys,
  loadSigningKeys,
} from '../../../gateway/src/oauth/keys.ts';
import type { SigningKey } from '../../../gateway/src/oauth/signing-keys.ts';
import {
  type LoadedSnapshot,
  loadSnapshot,
  sha256Hex,
} from '../../../gateway/src/snapshot/loaded.ts';
import {
  SNAPSHOT_FORMAT,
  type Snapshot,
  type SnapshotApi,
  type SnapshotCredential,
  type SnapshotGrant,
} from '../../../gateway/src/snapshot/schema.ts';

export const NOW = new Date('2030-01-01T12:00:00Z');
export const PUBLIC_URL = 'https://gw.example.test';

export function api(name: string, overrides: Partial<SnapshotApi> = {}): SnapshotApi {
  return {
    id: `platform/${name}`,
    namespace: 'platform',
    name,
    displayName: name,
    basePath: `/${name}/v1`,
    backend: { url: 'http://127.0.0.1:1', timeoutMs: 1000 },
    tokens: { signingAlgorithm: 'ES256', ttlSeconds: 3600 },
    declaredScopes: [],
    securitySchemes: {},
    paths: [],
    defaultSecuredOperations: 0,
    rateLimit: [],
    idps: [],
    ...overrides,
  };
}

export const DESIGN = api('design-api', { declaredScopes: ['read:design', 'write:design'] });
export const RECOMMENDATIONS = api('recommendations-api', {
  tokens: { signingAlgorithm: 'RS256', ttlSeconds: 600 },
  declaredScopes: ['read:recommendations'],
});
/** Not in any Product: only `acme-direct` is subscribed to it. */
export const BILLING = api('billing-api', {
  audience: 'api://billing',
  declaredScopes: ['read:billing'],
});

export function grant(apiValue: SnapshotApi, scopes: string[], productId?: string): SnapshotGrant {
  const value: SnapshotGrant = { apiId: apiValue.id, scopes, rateLimit: [] };
  if (productId !== undefined) value.productId = productId;
  return value;
}

export function credential(
  name: string,
  overrides: Partial<SnapshotCredential> = {},
): SnapshotCredential {
  return {
    id: `acme/${name}`,
    namespace: 'acme',
    name,
    clientId: name,
    clientSecrets: [{ sha256: sha256Hex(`${name}-secret`) }],
    apiKeys: [],
    suspended: false,
    clientCredentials: true,
    apiKey: true,
    grants: [],
    ...overrides,
  };
}

/** The Basic/body secret of `credential(name)`. */
export const secretOf = (name: string): string => `${name}-secret`;

export const SPECIAL_CLIENT_ID = 'acme:special client+id';
export const SPECIAL_SECRET = 'p@ss:w+rd/é&=%41 x';

export const CREDENTIALS: SnapshotCredential[] = [
  credential('acme-direct', {
    grants: [grant(DESIGN, ['read:design']), grant(BILLING, ['read:billing'])],
  }),
  credential('acme-platform', {
    grants: [
      grant(DESIGN, ['read:design', 'write:design'], 'platform/apiway-platform'),
      grant(RECOMMENDATIONS, ['read:recommendations'], 'platform/apiway-platform'),
    ],
  }),
  credential('acme-rotated', {
    clientSecrets: [
      { sha256: sha256Hex('current-secret') },
      { sha256: sha256Hex('grace-secret'), expiresAt: '2030-01-02T00:00:00Z' },
      { sha256: sha256Hex('expired-secret'), expiresAt: '2030-01-01T00:00:00Z' },
    ],
    grants: [grant(DESIGN, ['read:design'])],
  }),
  credential(SPECIAL_CLIENT_ID, {
    clientSecrets: [{ sha256: sha256Hex(SPECIAL_SECRET) }],
    grants: [grant(DESIGN, ['read:design'])],
  }),
  credential('acme-suspended', { suspended: true, grants: [grant(DESIGN, ['read:design'])] }),
  credential('acme-no-cc', { clientCredentials: false, grants: [grant(DESIGN, ['read:design'])] }),
  credential('acme-spa', {
    clientSecrets: [],
    authorizationCode: { redirectUris: ['https://app.acme.example/callback'], public: true },
    grants: [grant(DESIGN, ['read:design'])],
  }),
  /** Granted on the Api with no scope at all (and one the Api does not declare). */
  credential('acme-no-scopes', { grants: [grant(DESIGN, ['admin:everything'])] }),
];

export function snapshotOf(credentials: SnapshotCredential[] = CREDENTIALS): LoadedSnapshot {
  const snapshot: Snapshot = {
    format: SNAPSHOT_FORMAT,
    environment: 'alpha',
    version: 'test',
    apis: [DESIGN, RECOMMENDATIONS, BILLING],
    credentials,
    idps: [],
    objects: [],
  };
  return loadSnapshot(snapshot);
}

/** The snapshot after a change to one credential (`undefined`: the Subscription was deleted). */
export function withCredential(
  name: string,
  change: (c: SnapshotCredential) => SnapshotCredential | undefined,
): LoadedSnapshot {
  const credentials: SnapshotCredential[] = [];
  for (const c of CREDENTIALS) {
    const changed = c.name === name ? change(structuredClone(c)) : c;
    if (changed) credentials.push(changed);
  }
  return snapshotOf(credentials);
}

export interface TestKeys {
  es256Active: SigningKey;
  rs256Active: SigningKey;
  es256Next: SigningKey;
  /** Retired, trusted until one hour after NOW. */
  es256Retired: SigningKey;
  /** Retired, past its retireAfter. */
  es256Expired: SigningKey;
  set: SigningKey[];
  loaded: LoadedKeys;
}

export async function testKeys(): Promise<TestKeys> {
  const [es256Active, rs256Active, es256Next, es256Retired, es256Expired] = await Promise.all([
    generateSigningKey('ES256', 'active'),
    generateSigningKey('RS256', 'active'),
    generateSigningKey('ES256', 'next'),
    generateSigningKey('ES256', 'retired', {
      retireAfter: new Date(NOW.getTime() + 3600_000).toISOString(),
    }),
    generateSigningKey('ES256', 'retired', {
      retireAfter: new Date(NOW.getTime() - 1000).toISOString(),
    }),
  ]);
  const set = [es256Active, rs256Active, es256Next, es256Retired, es256Expired];
  return {
    es256Active,
    rs256Active,
    es256Next,
    es256Retired,
    es256Expired,
    set,
    loaded: await loadSigningKeys({ keys: set }, NOW),
  };
}

export async function privateKeyOf(key: SigningKey): Promise<CryptoKey> {
  return (await importJWK(key.privateJwk as JWK, key.alg)) as CryptoKey;
}
