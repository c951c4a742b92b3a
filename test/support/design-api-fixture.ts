/**
 * The snapshot the app tests share: one Api in front of a real echo backend, with operations
 * covering every security shape, and credentials in every state.
 */

import type { SnapshotApi } from '../../gateway/src/snapshot/schema.ts';
import {
  apiFixture,
  credentialFixture,
  operation,
  path,
  snapshotFixture,
} from './snapshot-fixtures.ts';

export const BASE = '/design-api/v1';
export const ACME = {
  clientId: 'client-acme',
  secret: 'acme-client-secret-0123456789',
  key: 'acme-api-key-0123456789',
};
export const EXPIRED_KEY = 'acme-expired-key-0123456789';
export const SUSPENDED_KEY = 'suspended-key-0123456789';
export const KEYS_DISABLED_KEY = 'keys-disabled-key-0123456789';
export const OTHER_API_KEY = 'other-api-key-0123456789';
export const ADMIN = {
  clientId: 'client-admin',
  secret: 'admin-client-secret-0123456789',
  key: 'admin-api-key-0123456789',
};

export function designApi(backendUrl: string, overrides: Partial<SnapshotApi> = {}): SnapshotApi {
  return apiFixture({
    name: 'design',
    basePath: BASE,
    backendUrl,
    paths: [
      path('/designs/latest', { GET: operation([]) }),
      path('/designs/{id}', {
        GET: operation([[['oauth', 'read']], [['key']]]),
        DELETE: operation([[['oauth', 'admin']]]),
      }),
      path('/designs', {
        GET: operation([[], [['oauth', 'read']]]),
        POST: operation([[['oauth', 'write'], ['key']]]),
      }),
      path('/files/{name}.json', {
        GET: operation([[['apiway:bearer']], [['apiway:apiKey']]], { securityDefaulted: true }),
      }),
      path('/search', { GET: operation([[['queryKey']]]) }),
      path('/legacy', { GET: operation([[['basic']]]) }),
      path('/slow', { GET: operation([]) }),
      path('/', { GET: operation([]) }),
    ],
    ...overrides,
  });
}

export function designSnapshot(backendUrl: string, overrides: Partial<SnapshotApi> = {}) {
  const api = designApi(backendUrl, overrides);
  const other = apiFixture({ name: 'other', basePath: '/other', backendUrl });
  return snapshotFixture({
    apis: [api, other],
    credentials: [
      credentialFixture({
        name: 'acme',
        clientSecret: ACME.secret,
        apiKeys: [ACME.key, { value: EXPIRED_KEY, expiresAt: '2000-01-01T00:00:00Z' }],
        grants: { [api.id]: { scopes: ['read', 'write'] } },
      }),
      credentialFixture({
        name: 'admin',
        clientSecret: ADMIN.secret,
        apiKeys: [ADMIN.key],
        grants: { [api.id]: { scopes: ['admin', 'read', 'write'] } },
      }),
      credentialFixture({
        name: 'suspended',
        apiKeys: [SUSPENDED_KEY],
        suspended: true,
        grants: { [api.id]: { scopes: ['read'] } },
      }),
      credentialFixture({
        name: 'keys-disabled',
        apiKeys: [KEYS_DISABLED_KEY],
        apiKey: false,
        grants: { [api.id]: { scopes: ['read'] } },
      }),
      credentialFixture({
        name: 'other-only',
        apiKeys: [OTHER_API_KEY],
        grants: { [other.id]: { scopes: [] } },
      }),
    ],
  });
}
