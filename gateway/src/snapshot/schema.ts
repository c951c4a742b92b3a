/**
 * The snapshot: everything a gateway of one environment needs to enforce, compiled from the
 * Kubernetes objects (or standalone files) by `compileSnapshot`. The gateway owns this format,
 * as Envoy and Kong own theirs; the operator and the standalone loader import it.
 *
 * It never carries a secret: client secrets and API keys appear only as SHA-256 hashes (they
 * are high-entropy random values, so a fast hash is enough), and signing keys travel apart
 * (state dir or the environment's signing-key Secret).
 */

import type { ResourceKind } from '../resources/types.ts';

export const SNAPSHOT_FORMAT = 'apiway.net/snapshot/v1';

export interface Snapshot {
  format: typeof SNAPSHOT_FORMAT;
  environment: string;
  /** sha256 (hex) of the canonical JSON of the snapshot without this field. */
  version: string;
  apis: SnapshotApi[];
  credentials: SnapshotCredential[];
  idps: SnapshotIdp[];
  /** Every object whose current generation this snapshot contains: what gateways report for `Ready`. */
  objects: IncludedObject[];
}

export interface IncludedObject {
  kind: ResourceKind;
  namespace: string;
  name: string;
  generation: number;
}

export interface SnapshotApi {
  /** "namespace/name" */
  id: string;
  namespace: string;
  name: string;
  displayName: string;
  /** Starts with `/`, no trailing `/`. */
  basePath: string;
  /** Explicit `aud` of this Api's tokens; absent: the issuer URL `{publicUrl}{basePath}`. */
  audience?: string;
  backend: { url: string; timeoutMs: number };
  tokens: { signingAlgorithm: 'ES256' | 'RS256'; ttlSeconds: number };
  /** The scopes named in the document's oauth2 flows (sorted): no token ever carries another. */
  declaredScopes: string[];
  /**
   * By scheme name. Names starting with `apiway:` are synthetic (OpenAPI component names cannot
   * contain `:`): `apiway:bearer` and `apiway:apiKey` express "any valid credential of this Api"
   * for operations that declare no security (secure by default).
   */
  securitySchemes: Record<string, SecurityScheme>;
  /** Path templates in match precedence order (concrete segments before templated ones). */
  paths: SnapshotPath[];
  /** Number of operations secured only by the default (no `security` at either level). */
  defaultSecuredOperations: number;
  /** Default per-consumer limits on this Api (already in every grant's `rateLimit`). */
  rateLimit: RateLimitRule[];
  /** Ids of IdpAssociations whose tokens this Api accepts. */
  idps: string[];
}

export type SecurityScheme =
  /** oauth2 and http bearer: tokens this gateway minted for this Api, or tokens of its associated IdPs. */
  | { type: 'oauth2'; scopes: string[] }
  | { type: 'bearer' }
  /** Tokens of the associated IdpAssociation whose issuer matches the discovery URL's issuer. */
  | { type: 'openIdConnect'; openIdConnectUrl: string }
  | { type: 'apiKey'; in: 'header' | 'query'; name: string }
  /** A scheme the gateway cannot verify (http basic, apiKey in a cookie, mutualTLS): never satisfied. */
  | { type: 'unsupported'; reason: string };

export interface SnapshotPath {
  /** As written in the document, e.g. `/designs/{id}`. */
  template: string;
  /** By upper-case method. */
  operations: Record<string, SnapshotOperation>;
}

export interface SnapshotOperation {
  operationId?: string;
  /**
   * OpenAPI semantics, resolved: a list of alternatives (any one suffices), each a list of
   * requirements that must all pass. `[]`: public. An empty alternative `[]` inside the list:
   * authentication is optional.
   */
  security: SecurityRequirement[][];
  /** True when neither the operation nor the root declared `security`. */
  securityDefaulted: boolean;
}

export interface SecurityRequirement {
  scheme: string;
  scopes: string[];
}

export interface RateLimitRule {
  /** Which counter: `api` (per consumer on this Api), `product` (per consumer across the Product) or `subscription`. */
  scope: 'api' | 'product' | 'subscription';
  /** The Api or Product id the counter belongs to, or the Subscription id. */
  target: string;
  requests: number;
  periodSeconds: number;
}

export interface HashedSecret {
  /** sha256 of the UTF-8 value, lowercase hex. */
  sha256: string;
  /** RFC 3339; absent: valid until replaced. Set on a rotated-out value (grace period). */
  expiresAt?: string;
}

export interface SnapshotCredential {
  /** The Subscription: "namespace/name". */
  id: string;
  namespace: string;
  name: string;
  clientId: string;
  /** Valid client secrets (the current one, plus rotated-out ones in their grace period). */
  clientSecrets: HashedSecret[];
  /** Valid API keys: primary, secondary, and rotated-out ones in their grace period. */
  apiKeys: HashedSecret[];
  suspended: boolean;
  /** RFC 3339: access tokens issued (`iat`) before this are refused; set when a suspension is lifted. */
  tokensNotBefore?: string;
  /** Which ways of authenticating this Subscription enabled. */
  clientCredentials: boolean;
  apiKey: boolean;
  authorizationCode?: { redirectUris: string[]; public: boolean };
  /** One per Api it may call (sorted by apiId). */
  grants: SnapshotGrant[];
}

export interface SnapshotGrant {
  apiId: string;
  /** Granted ∩ declared by the Api ∩ allowed by the target. */
  scopes: string[];
  /** The Product it is granted through, if any. */
  productId?: string;
  /** Every limit that applies to this consumer on this Api, in evaluation order. */
  rateLimit: RateLimitRule[];
}

export interface SnapshotIdp {
  /** "namespace/name" */
  id: string;
  issuer: string;
  audiences: string[];
  apis: string[];
  /** `scope` (space-separated string) or `scp` (string or array). */
  scopeClaim: string;
  login?: { clientId: string; clientSecretRef?: { namespace: string; name: string; key: string } };
}
