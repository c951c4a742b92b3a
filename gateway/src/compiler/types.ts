/**
 * Input and output of `compileSnapshot`: a pure, deterministic function. All I/O (reading
 * files or the Kubernetes API, parsing OpenAPI documents, generating credentials) happens in a
 * gather step before it; the operator and the standalone gateway share everything from here on.
 */

import type {
  ApiResource,
  Condition,
  IdpAssociationResource,
  ProductResource,
  ResourceKind,
  SecretResource,
  SubscriptionResource,
} from '../resources/types.ts';
import type { Snapshot } from '../snapshot/schema.ts';

/** An OpenAPI document after `$ref`s were resolved, or why it could not be read. */
export type ParsedOpenApi =
  | { ok: true; document: OpenApiDocument }
  | { ok: false; reason: 'OpenApiInvalid' | 'OpenApiNotFound'; message: string };

/** The subset of OpenAPI 3.0 / 3.1 the compiler reads (after dereferencing). */
export interface OpenApiDocument {
  openapi: string;
  paths?: Record<string, Record<string, unknown> | undefined>;
  security?: Array<Record<string, string[]>>;
  components?: { securitySchemes?: Record<string, Record<string, unknown>> };
  [key: string]: unknown;
}

/** A credential value as issued (plaintext: only the gather step and the compiler see it). */
export interface IssuedSecret {
  value: string;
  /** RFC 3339: a rotated-out value, valid until then. */
  expiresAt?: string;
}

/** What was issued for one Subscription (state dir in standalone, its Secret in Kubernetes). */
export interface IssuedCredentials {
  clientId: string;
  /** Current first, then rotated-out ones in their grace period. */
  clientSecrets: IssuedSecret[];
  /** Primary first, then secondary, then rotated-out ones in their grace period. */
  apiKeys: IssuedSecret[];
  /** RFC 3339: access tokens issued before this are refused (set when a suspension is lifted). */
  tokensNotBefore?: string;
}

export interface CompileInput {
  environment: string;
  apis: ApiResource[];
  products: ProductResource[];
  subscriptions: SubscriptionResource[];
  idpAssociations: IdpAssociationResource[];
  secrets: SecretResource[];
  /** By Api key "namespace/name": its document, parsed by the gather step. */
  openapi: ReadonlyMap<string, ParsedOpenApi>;
  /** By Subscription key "namespace/name". A Subscription without an entry gets no credential yet. */
  issued: ReadonlyMap<string, IssuedCredentials>;
  /** Rotated-out values whose `expiresAt` is before `now` are dropped. */
  now: Date;
}

export interface ObjectResult {
  kind: ResourceKind;
  namespace: string;
  name: string;
  generation: number;
  /** `Accepted` (and any other condition the compiler decides); `Ready` is the operator's. */
  conditions: Condition[];
  /** Extra status fields for this kind, e.g. `{ operations: 12, defaultSecuredOperations: 3 }` for an Api. */
  details: Record<string, unknown>;
}

export interface CompileOutput {
  snapshot: Snapshot;
  /** One per input object that belongs to this environment, sorted by kind, namespace, name. */
  results: ObjectResult[];
}
