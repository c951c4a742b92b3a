/**
 * A Subscription's credential Secret: its name, who owns it, what it holds. Pure.
 *
 * Data keys (what a consumer reads): `client_id`, `client_secret`, `api_key`,
 * `api_key_secondary` (each present when that credential is enabled) and `token_url` (plus
 * `token_url.<api-name>` per member Api of a Product). `apiway.json` holds the operator's
 * rotation bookkeeping (the StoredCredentials: current values, rotation counters, rotated-out
 * values until their grace period ends). The Secret is the only place credentials live: they are
 * read back from it on every reconcile, so a restart, a re-list or a lost status never issues
 * new ones.
 */

import type { V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import type {
  RotatingSecret,
  StoredCredentials,
} from '../../../gateway/src/credentials/issue-credentials.ts';
import { MANAGED_BY_LABEL, OPERATOR_NAME } from '../../../gateway/src/kubernetes/names.ts';
import { API_VERSION, type SubscriptionResource } from '../../../gateway/src/resources/types.ts';

/** On every credential Secret: the name of the Subscription (in the same namespace) it belongs to. */
export const SUBSCRIPTION_LABEL = 'apiway.net/subscription';
export const STORED_CREDENTIALS_KEY = 'apiway.json';
/** Selects the operator's credential Secrets (and nothing else it manages). */
export const CREDENTIAL_SECRET_SELECTOR = `${MANAGED_BY_LABEL}=${OPERATOR_NAME},${SUBSCRIPTION_LABEL}`;

export function credentialSecretName(subscription: SubscriptionResource): string {
  return subscription.spec.secretName ?? `${subscription.metadata.name}-credentials`;
}

/** True when `secret` names this object (by uid) as its controller. */
export function isControlledBy(secret: V1Secret, uid: string | undefined): boolean {
  return (
    uid !== undefined &&
    (secret.metadata?.ownerReferences ?? []).some(
      (ref) => ref.controller === true && ref.uid === uid,
    )
  );
}

/**
 * What was issued, read back from a Secret the operator wrote: `apiway.json`, or, when that is
 * missing or unreadable (edited by hand), the plain keys, taken as never-rotated values, so
 * that the consumer's credentials survive rather than being replaced. Undefined when the
 * Secret holds no client id at all.
 */
export function readStoredCredentials(secret: V1Secret): StoredCredentials | undefined {
  const data = secret.data ?? {};
  const text = decode(data[STORED_CREDENTIALS_KEY]);
  if (text !== undefined) {
    try {
      const stored = JSON.parse(text) as StoredCredentials;
      if (typeof stored?.clientId === 'string' && stored.clientId !== '') return stored;
    } catch {
      // fall through to the plain keys
    }
  }
  const clientId = decode(data.client_id);
  if (clientId === undefined || clientId === '') return undefined;
  const plain = (value: string | undefined): RotatingSecret | undefined =>
    value === undefined || value === ''
      ? undefined
      : {
          value,
          rotation: 0,
          issuedAt: secret.metadata?.creationTimestamp?.toString() ?? '',
          previous: [],
        };
  const stored: StoredCredentials = { clientId };
  const clientSecret = plain(decode(data.client_secret));
  const apiKey = plain(decode(data.api_key));
  const apiKeySecondary = plain(decode(data.api_key_secondary));
  if (clientSecret) stored.clientSecret = clientSecret;
  if (apiKey) stored.apiKey = apiKey;
  if (apiKeySecondary) stored.apiKeySecondary = apiKeySecondary;
  return stored;
}

/** The Secret as it should be: `existing`'s metadata kept (others' labels and annotations), ours set. */
export function desiredCredentialSecret(
  subscription: SubscriptionResource,
  stored: StoredCredentials,
  tokenUrls: Readonly<Record<string, string>>,
  existing: V1Secret | undefined,
): V1Secret {
  const { namespace, name, uid } = subscription.metadata;
  const data: Record<string, string> = { client_id: encode(stored.clientId) };
  if (stored.clientSecret) data.client_secret = encode(stored.clientSecret.value);
  if (stored.apiKey) data.api_key = encode(stored.apiKey.value);
  if (stored.apiKeySecondary) data.api_key_secondary = encode(stored.apiKeySecondary.value);
  for (const [key, url] of Object.entries(tokenUrls)) data[key] = encode(url);
  data[STORED_CREDENTIALS_KEY] = encode(JSON.stringify(stored));

  const owner: V1OwnerReference = {
    apiVersion: API_VERSION,
    kind: 'Subscription',
    name,
    uid: uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
  const otherOwners = (existing?.metadata?.ownerReferences ?? []).filter((ref) => ref.uid !== uid);
  // managedFields are the API server's bookkeeping: sent back in an update they would overwrite it.
  const { managedFields: _managedFields, ...kept } = existing?.metadata ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: existing?.type ?? 'Opaque',
    metadata: {
      ...kept,
      name: credentialSecretName(subscription),
      namespace,
      labels: {
        ...(existing?.metadata?.labels ?? {}),
        [MANAGED_BY_LABEL]: OPERATOR_NAME,
        [SUBSCRIPTION_LABEL]: name,
      },
      ownerReferences: [...otherOwners, owner],
    },
    data,
  };
}

/** Whether writing `desired` over `existing` would change anything the operator decides. */
export function sameCredentialSecret(existing: V1Secret, desired: V1Secret): boolean {
  return (
    sameRecord(existing.data, desired.data) &&
    sameRecord(existing.metadata?.labels, desired.metadata?.labels) &&
    JSON.stringify(existing.metadata?.ownerReferences ?? []) ===
      JSON.stringify(desired.metadata?.ownerReferences ?? [])
  );
}

/** When the next rotated-out value expires (so the Secret and the snapshot drop it then). */
export function nextExpiry(stored: StoredCredentials): Date | undefined {
  const times = [stored.clientSecret, stored.apiKey, stored.apiKeySecondary]
    .flatMap((secret) => secret?.previous ?? [])
    .map((old) => Date.parse(old.expiresAt))
    .filter((time) => !Number.isNaN(time));
  return times.length === 0 ? undefined : new Date(Math.min(...times));
}

function sameRecord(
  a: Record<string, string> | undefined,
  b: Record<string, string> | undefined,
): boolean {
  const x = Object.entries(a ?? {}).sort(([k1], [k2]) => (k1 < k2 ? -1 : 1));
  const y = Object.entries(b ?? {}).sort(([k1], [k2]) => (k1 < k2 ? -1 : 1));
  return JSON.stringify(x) === JSON.stringify(y);
}

function encode(value: string): string {
  return Buffer.from(value, 'utf8').toString('base64');
}

function decode(value: string | undefined): string | undefined {
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
}
