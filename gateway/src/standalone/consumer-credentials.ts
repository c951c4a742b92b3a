/**
 * The credentials a person needs to call the gateway, per Subscription in the snapshot: what
 * `apiway-gateway` prints at start for the one running it. Plaintext: for stdout only, never a
 * log line.
 *
 * Each value is shown only when the snapshot accepts it (its hash is there, and it is not a
 * rotated-out value): what the compiler took from an `existingSecret` and what the state dir
 * issued are both candidates, and the snapshot decides, so the table never shows a credential
 * that would not work.
 */

import { credentialsFromSecret } from '../compiler/credentials.ts';
import type { IssuedCredentials } from '../compiler/types.ts';
import { objectKey, type SecretResource, type SubscriptionResource } from '../resources/types.ts';
import { sha256Hex } from '../snapshot/loaded.ts';
import type { Snapshot } from '../snapshot/schema.ts';

export interface ConsumerCredentials {
  /** The Subscription: "namespace/name". */
  id: string;
  clientId: string;
  clientSecret?: string;
  apiKey?: string;
  apiKeySecondary?: string;
  suspended: boolean;
  /** Ids of the Apis it may call. */
  apiIds: string[];
}

export function consumerCredentials(
  snapshot: Snapshot,
  subscriptions: readonly SubscriptionResource[],
  issued: ReadonlyMap<string, IssuedCredentials>,
  secrets: readonly SecretResource[],
): ConsumerCredentials[] {
  const byKey = new Map(subscriptions.map((s) => [objectKey(s.metadata), s]));
  return snapshot.credentials.map((credential) => {
    const subscription = byKey.get(credential.id);
    const existing = subscription?.spec.credentials?.existingSecret;
    const secret = existing
      ? secrets.find(
          (s) => s.metadata.namespace === credential.namespace && s.metadata.name === existing,
        )
      : undefined;
    const fromSecret = secret ? credentialsFromSecret(secret).values : {};
    const mine = issued.get(credential.id);
    const current = (hashes: Array<{ sha256: string; expiresAt?: string }>) =>
      new Set(hashes.filter((h) => h.expiresAt === undefined).map((h) => h.sha256));

    const secretHashes = current(credential.clientSecrets);
    const clientSecret = [
      fromSecret.clientSecret,
      ...(mine?.clientSecrets ?? []).map((s) => s.value),
    ]
      .filter((value): value is string => value !== undefined)
      .find((value) => secretHashes.has(sha256Hex(value)));

    const keyHashes = current(credential.apiKeys);
    const keyCandidates = [
      fromSecret.apiKey,
      fromSecret.apiKeySecondary,
      ...(mine?.apiKeys ?? []).map((k) => k.value),
    ].filter((value): value is string => value !== undefined);
    // In the snapshot's order: primary first.
    const apiKeys = credential.apiKeys
      .filter((h) => keyHashes.has(h.sha256))
      .map((h) => keyCandidates.find((value) => sha256Hex(value) === h.sha256))
      .filter((value): value is string => value !== undefined);

    const result: ConsumerCredentials = {
      id: credential.id,
      clientId: credential.clientId,
      suspended: credential.suspended,
      apiIds: credential.grants.map((grant) => grant.apiId),
    };
    if (clientSecret !== undefined) result.clientSecret = clientSecret;
    if (credential.apiKey && apiKeys[0] !== undefined) result.apiKey = apiKeys[0];
    if (credential.apiKey && apiKeys[1] !== undefined) result.apiKeySecondary = apiKeys[1];
    return result;
  });
}
