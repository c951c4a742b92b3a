/**
 * Hand-built snapshots for gateway tests: small builders with safe defaults, so a test states
 * only what it is about. Secrets are given in plaintext and stored hashed, as the compiler does.
 */

import { sha256Hex } from '../../gateway/src/snapshot/loaded.ts';
import {
  type RateLimitRule,
  type SecurityRequirement,
  type SecurityScheme,
  SNAPSHOT_FORMAT,
  type Snapshot,
  type SnapshotApi,
  type SnapshotCredential,
  type SnapshotOperation,
  type SnapshotPath,
} from '../../gateway/src/snapshot/schema.ts';

export const TEST_ENVIRONMENT = 'test';

/** `security` shorthand: `[[['oauth', 'read']], [['key']]]` = oauth(read) OR key. */
export type SecurityShorthand = Array<Array<[scheme: string, ...scopes: string[]]>>;

export function security(alternatives: SecurityShorthand): SecurityRequirement[][] {
  return alternatives.map((alternative) =>
    alternative.map(([scheme, ...scopes]) => ({ scheme, scopes })),
  );
}

export function operation(
  alternatives: SecurityShorthand,
  extra: Partial<SnapshotOperation> = {},
): SnapshotOperation {
  return { security: security(alternatives), securityDefaulted: false, ...extra };
}

export function path(
  template: string,
  operations: Record<string, SnapshotOperation>,
): SnapshotPath {
  return { template, operations };
}

/** Schemes most tests use: `oauth` (oauth2), `key` (x-api-key header), `queryKey` (api_key query), plus the synthetic defaults. */
export const DEFAULT_SCHEMES: Record<string, SecurityScheme> = {
  oauth: { type: 'oauth2', scopes: ['read', 'write', 'admin'] },
  key: { type: 'apiKey', in: 'header', name: 'x-api-key' },
  queryKey: { type: 'apiKey', in: 'query', name: 'api_key' },
  basic: { type: 'unsupported', reason: 'http basic' },
  'apiway:bearer': { type: 'bearer' },
  'apiway:apiKey': { type: 'apiKey', in: 'header', name: 'x-api-key' },
};

export function apiFixture(
  overrides: Partial<SnapshotApi> & { name: string; basePath: string; backendUrl?: string },
): SnapshotApi {
  const { name, basePath, backendUrl, ...rest } = overrides;
  return {
    id: `platform/${name}`,
    namespace: 'platform',
    name,
    displayName: name,
    basePath,
    backend: { url: backendUrl ?? 'http://127.0.0.1:9', timeoutMs: 5_000 },
    tokens: { signingAlgorithm: 'ES256', ttlSeconds: 3600 },
    declaredScopes: ['admin', 'read', 'write'],
    securitySchemes: DEFAULT_SCHEMES,
    paths: [],
    defaultSecuredOperations: 0,
    rateLimit: [],
    idps: [],
    ...rest,
  };
}

export interface CredentialFixtureOptions {
  name: string;
  namespace?: string;
  clientSecret?: string;
  apiKeys?: Array<string | { value: string; expiresAt: string }>;
  /** By Api id: granted scopes and limits. */
  grants: Record<string, { scopes: string[]; rateLimit?: RateLimitRule[]; productId?: string }>;
  suspended?: boolean;
  apiKey?: boolean;
  clientCredentials?: boolean;
}

export function credentialFixture(options: CredentialFixtureOptions): SnapshotCredential {
  const namespace = options.namespace ?? 'acme';
  return {
    id: `${namespace}/${options.name}`,
    namespace,
    name: options.name,
    clientId: `client-${options.name}`,
    clientSecrets:
      options.clientSecret === undefined ? [] : [{ sha256: sha256Hex(options.clientSecret) }],
    apiKeys: (options.apiKeys ?? []).map((key) =>
      typeof key === 'string'
        ? { sha256: sha256Hex(key) }
        : { sha256: sha256Hex(key.value), expiresAt: key.expiresAt },
    ),
    suspended: options.suspended ?? false,
    clientCredentials: options.clientCredentials ?? true,
    apiKey: options.apiKey ?? true,
    grants: Object.entries(options.grants)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([apiId, grant]) => ({
        apiId,
        scopes: [...grant.scopes].sort(),
        rateLimit: grant.rateLimit ?? [],
        ...(grant.productId === undefined ? {} : { productId: grant.productId }),
      })),
  };
}

export function snapshotFixture(parts: {
  apis: SnapshotApi[];
  credentials?: SnapshotCredential[];
  environment?: string;
}): Snapshot {
  const body = {
    format: SNAPSHOT_FORMAT,
    environment: parts.environment ?? TEST_ENVIRONMENT,
    apis: parts.apis,
    credentials: parts.credentials ?? [],
    idps: [],
    objects: [],
  } satisfies Omit<Snapshot, 'version'>;
  return { ...body, version: sha256Hex(JSON.stringify(body)) };
}
