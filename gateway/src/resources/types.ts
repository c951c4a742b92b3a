/**
 * The four Apiway resources (group apiway.net, version v1alpha1) as the compiler reads them.
 * These types mirror the CRD schemas in crds/ (the schemas are the source of truth for
 * validation and defaults; standalone mode validates files against those same schemas).
 * Fields marked optional may be absent in what a user applies; defaults are applied by the API
 * server (operator) or by the same schemas in standalone mode before the compiler sees them.
 */

export const API_GROUP = 'apiway.net';
export const API_VERSION = 'apiway.net/v1alpha1';

export type ResourceKind = 'Api' | 'Product' | 'Subscription' | 'IdpAssociation';

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  /** RFC 3339; decides who keeps a contested basePath (the oldest wins). */
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

export interface ObjectReference {
  name: string;
  /** Defaults to the referring object's namespace. */
  namespace?: string;
}

/** A limit on requests per consumer: `period` is a duration such as `1s`, `1m`, `1h`, `1d`. */
export interface RateLimitSpec {
  limits: Array<{ requests: number; period: string }>;
}

/** Who may subscribe to an Api or Product, and what they may be granted. */
export interface SubscribersSpec {
  /** Namespaces whose Subscriptions are accepted; `*` means any. Default (absent): any namespace. The object's own namespace is always allowed. */
  namespaces?: string[];
  /** Scopes a Subscription may be granted. Default: every scope the targets declare. */
  scopes?: string[];
}

export interface ApiSpec {
  displayName?: string;
  basePath: string;
  environments: string[];
  backend: { url: string; timeoutSeconds?: number };
  openapi: { inline?: string; configMapRef?: { name: string; key: string } };
  tokens?: {
    signingAlgorithm?: 'ES256' | 'RS256';
    ttlSeconds?: number;
    /** The `aud` of tokens for this Api; default its issuer URL `{publicUrl}{basePath}`. */
    audience?: string;
  };
  rateLimit?: RateLimitSpec;
  subscribers?: SubscribersSpec;
}

export interface ProductSpec {
  displayName?: string;
  apis: ObjectReference[];
  rateLimit?: RateLimitSpec;
  subscribers?: SubscribersSpec;
}

export interface SubscriptionSpec {
  /** Exactly one of api / product. */
  api?: ObjectReference;
  product?: ObjectReference;
  /** Granted scopes; default: every scope the targets declare (and the targets allow). */
  scopes?: string[];
  credentials?: {
    clientCredentials?: boolean;
    apiKey?: boolean;
    authorizationCode?: { redirectUris: string[]; public?: boolean };
    /** Name of a Secret in the Subscription's namespace holding client_id / client_secret / api_key. */
    existingSecret?: string;
    /**
     * Rotation from Git: raise a counter to replace that credential. The previous value stays
     * valid for `gracePeriodSeconds` (default 86400) after the new one is issued.
     */
    rotation?: {
      clientSecret?: number;
      apiKey?: number;
      apiKeySecondary?: number;
      gracePeriodSeconds?: number;
    };
  };
  rateLimit?: RateLimitSpec;
  suspended?: boolean;
  secretName?: string;
}

export interface IdpAssociationSpec {
  environment: string;
  issuer: string;
  audiences: string[];
  apis: ObjectReference[];
  scopeClaim?: string;
  login?: { clientId: string; clientSecretRef?: { name: string; key: string } };
}

export interface Resource<K extends ResourceKind, S> {
  apiVersion: typeof API_VERSION;
  kind: K;
  metadata: ObjectMeta;
  spec: S;
  status?: { observedGeneration?: number; conditions?: Condition[]; [key: string]: unknown };
}

export type ApiResource = Resource<'Api', ApiSpec>;
export type ProductResource = Resource<'Product', ProductSpec>;
export type SubscriptionResource = Resource<'Subscription', SubscriptionSpec>;
export type IdpAssociationResource = Resource<'IdpAssociation', IdpAssociationSpec>;
export type ApiwayResource =
  | ApiResource
  | ProductResource
  | SubscriptionResource
  | IdpAssociationResource;

/** The core/v1 Secret fields Apiway reads (existingSecret), values base64 in `data` or plain in `stringData`. */
export interface SecretResource {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: ObjectMeta;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

/** "namespace/name": the key of an object everywhere in Apiway (snapshot ids, work queue keys). */
export function objectKey(meta: { namespace: string; name: string }): string {
  return `${meta.namespace}/${meta.name}`;
}
