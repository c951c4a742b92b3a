/**
 * Credentials of every Subscription of the config dir, brought up to date on each load (pure;
 * the state dir persists the result). The Kubernetes equivalent is one Secret per Subscription,
 * owned by it, so deleting the Subscription deletes its credentials: here deleting its file
 * does the same, except when some file could not be read (then nothing is forgotten, so a
 * typo never costs anyone their credentials). A Subscription with an `existingSecret` takes
 * its values from that Secret: nothing is generated for it.
 */

import type { IssuedCredentials } from '../compiler/types.ts';
import {
  type CredentialChange,
  issueCredentials,
  type RandomBytes,
  type StoredCredentials,
  toIssuedCredentials,
} from '../credentials/issue-credentials.ts';
import { objectKey, type SubscriptionResource } from '../resources/types.ts';

export interface CredentialUpdate {
  stored: Map<string, StoredCredentials>;
  /** For the compiler, by Subscription key. */
  issued: Map<string, IssuedCredentials>;
  /** By Subscription key: what changed (issued, rotated, removed). */
  changes: Map<string, CredentialChange[]>;
  /** Subscriptions whose generated credentials were deleted (gone, or now using an existingSecret). */
  forgotten: string[];
  /** True when `stored` differs from what was given (persist it). */
  dirty: boolean;
}

export function updateCredentials(
  subscriptions: readonly SubscriptionResource[],
  previous: ReadonlyMap<string, StoredCredentials>,
  options: {
    now: Date;
    random: RandomBytes;
    /** Subscriptions that exist but are not served (invalid): keep what they hold. */
    keep: ReadonlySet<string>;
    /** False when part of the config dir could not be read: forget nothing. */
    mayForget: boolean;
  },
): CredentialUpdate {
  const stored = new Map<string, StoredCredentials>();
  const issued = new Map<string, IssuedCredentials>();
  const changes = new Map<string, CredentialChange[]>();
  const external = new Set<string>();
  for (const subscription of subscriptions) {
    const key = objectKey(subscription.metadata);
    // Its values come from its Secret (the compiler reads it): nothing to generate or keep.
    if (subscription.spec.credentials?.existingSecret !== undefined) {
      external.add(key);
      continue;
    }
    const result = issueCredentials(subscription, previous.get(key), options.now, options.random);
    stored.set(key, result.credentials);
    issued.set(key, toIssuedCredentials(result.credentials, options.now));
    if (result.changes.length > 0) changes.set(key, result.changes);
  }
  const forgotten: string[] = [];
  for (const [key, credentials] of previous) {
    if (stored.has(key)) continue;
    if (external.has(key) || (options.mayForget && !options.keep.has(key))) forgotten.push(key);
    else stored.set(key, credentials);
  }
  return { stored, issued, changes, forgotten, dirty: changes.size > 0 || forgotten.length > 0 };
}

/** The earliest time a rotated-out value expires (a reload then drops it), if any. */
export function nextExpiry(stored: ReadonlyMap<string, StoredCredentials>): Date | undefined {
  let earliest: number | undefined;
  for (const credentials of stored.values()) {
    for (const secret of [
      credentials.clientSecret,
      credentials.apiKey,
      credentials.apiKeySecondary,
    ]) {
      for (const old of secret?.previous ?? []) {
        const at = Date.parse(old.expiresAt);
        if (earliest === undefined || at < earliest) earliest = at;
      }
    }
  }
  return earliest === undefined ? undefined : new Date(earliest);
}
