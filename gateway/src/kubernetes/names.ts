/**
 * Where the operator and the gateways meet in the Kubernetes API: object names, labels,
 * annotations and data keys. The gateway owns these (as it owns the snapshot format); the
 * operator imports them.
 *
 * Names join the environment (a DNS label: no dots) and what follows with a `.`, so that two
 * environments can never produce the same name (`alpha` shard 0 and an environment `alpha-0`
 * would collide with `-`).
 */

import { createHash } from 'node:crypto';

export const DEFAULT_SYSTEM_NAMESPACE = 'apiway-system';

/** On every snapshot ConfigMap (manifest and shards): the environment it belongs to. */
export const SNAPSHOT_ENVIRONMENT_LABEL = 'apiway.net/snapshot-environment';
/** On shard ConfigMaps: sha256 (hex) of the shard text, as the manifest names it. */
export const SHARD_SHA256_ANNOTATION = 'apiway.net/sha256';
/** On the manifest ConfigMap: the snapshot version it describes (for people and `kubectl`). */
export const SNAPSHOT_VERSION_ANNOTATION = 'apiway.net/snapshot-version';
export const MANIFEST_DATA_KEY = 'manifest.json';
export const SHARD_DATA_KEY = 'shard.json';

/** On the signing-key Secret: the environment whose keys it holds. */
export const SIGNING_KEYS_ENVIRONMENT_LABEL = 'apiway.net/signing-keys-environment';
export const SIGNING_KEYS_DATA_KEY = 'keys.json';

/**
 * On the Secret `apiway-idp-logins-<env>`: the environment whose IdpAssociation login client
 * secrets it holds (copied there by the operator, so gateways read no Secret of a user's
 * namespace). One data key per IdpAssociation: `idpLoginSecretKey(id)`.
 */
export const IDP_LOGINS_ENVIRONMENT_LABEL = 'apiway.net/idp-logins-environment';

/** On every gateway report Lease. */
export const GATEWAY_REPORT_LABEL = 'apiway.net/gateway-report';
/** Annotations of a gateway report Lease. */
export const REPORT_ENVIRONMENT_ANNOTATION = 'apiway.net/environment';
/** The snapshot version the gateway serves; absent until it loaded one (not ready). */
export const REPORT_SNAPSHOT_VERSION_ANNOTATION = 'apiway.net/snapshot-version';
/** Comma-separated `kid`s the gateway publishes in its JWKS (the operator promotes a key only once every gateway publishes it). */
export const REPORT_SIGNING_KEY_IDS_ANNOTATION = 'apiway.net/signing-key-ids';
/** Discovery and key health of each IdpAssociation the gateway trusts (idp-health-report.ts). */
export const REPORT_IDP_HEALTH_ANNOTATION = 'apiway.net/idp-health';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const OPERATOR_NAME = 'apiway-operator';

export function snapshotManifestName(environment: string): string {
  return `apiway-snapshot-${environment}`;
}

export function snapshotShardName(environment: string, index: number): string {
  return `apiway-snapshot-${environment}.shard-${index}`;
}

export function signingKeysSecretName(environment: string): string {
  return `apiway-signing-keys-${environment}`;
}

export function idpLoginsSecretName(environment: string): string {
  return `apiway-idp-logins-${environment}`;
}

/** Longest Secret data key the API server accepts (`IsConfigMapKey`). */
const MAX_DATA_KEY_LENGTH = 253;

/**
 * The data key of an IdpAssociation (`namespace/name`) in `apiway-idp-logins-<env>`:
 * `<namespace>.<name>`, unambiguous because a namespace holds no dot. A key the API server
 * would find too long (a 253-character name) is cut and ends with `_` and a hash of the id;
 * no real name contains `_`, so it cannot meet another IdpAssociation's key.
 */
export function idpLoginSecretKey(id: string): string {
  const slash = id.indexOf('/');
  const key = `${id.slice(0, slash)}.${id.slice(slash + 1)}`;
  if (key.length <= MAX_DATA_KEY_LENGTH) return key;
  const hash = createHash('sha256').update(id).digest('hex').slice(0, 16);
  return `${key.slice(0, MAX_DATA_KEY_LENGTH - hash.length - 1)}_${hash}`;
}

/**
 * The report Lease of one gateway process. The identity (a pod or host name) is folded into
 * DNS-subdomain characters; names longer than 253 characters are cut (identities are short in
 * practice: pod names are at most 63).
 */
export function gatewayReportLeaseName(environment: string, identity: string): string {
  const folded = identity
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return `apiway-gw-${environment}.${folded || 'gateway'}`.slice(0, 253).replace(/[^a-z0-9]+$/, '');
}
