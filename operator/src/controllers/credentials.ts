/**
 * The credentials controller (key: Subscription `namespace/name`): keeps the Subscription's
 * credential Secret (`spec.secretName`, default `<name>-credentials`) holding what
 * `issueCredentials` decides, read back from the Secret itself every time, so values are only
 * generated when missing or when a rotation counter asks for it.
 *
 * - The Secret is read with a GET (not from the cache, which may lag behind the operator's own
 *   last write) and written with create (fails if it appeared meanwhile) or an update carrying
 *   its resourceVersion (fails if it changed meanwhile): a race is retried, never resolved by
 *   generating new values.
 * - A Secret of that name that this Subscription does not control is never touched: the
 *   outcome is a `SecretConflict` problem, shown as `Accepted=False`.
 * - Changing `spec.secretName` moves the credentials: the new Secret gets the values of the
 *   old one (found by label and owner), which is then deleted.
 * - With `existingSecret`, the operator generates nothing (the compiler reads that Secret) and
 *   deletes a credential Secret it made before.
 * - A rotated-out value is dropped from the Secret when its grace period ends (`requeueAfter`).
 * - Deleting the Subscription: its Secret is garbage-collected through the owner reference.
 */

import type { V1Secret } from '@kubernetes/client-node';
import {
  issueCredentials,
  type RandomBytes,
  type StoredCredentials,
} from '../../../gateway/src/credentials/issue-credentials.ts';
import { KubeApiError, resourcePath } from '../../../gateway/src/kubernetes/kube-client.ts';
import type { SubscriptionResource } from '../../../gateway/src/resources/types.ts';
import {
  credentialSecretName,
  desiredCredentialSecret,
  isControlledBy,
  nextExpiry,
  readStoredCredentials,
  SUBSCRIPTION_LABEL,
  sameCredentialSecret,
} from '../credentials/credential-secret.ts';
import { tokenUrls } from '../credentials/token-urls.ts';
import { type ControllerContext, splitKey } from './context.ts';

export interface CredentialOutcome {
  /** The Subscription generation and uid this outcome was decided for. */
  generation: number;
  uid: string;
  secretName: string;
  clientId?: string;
  /** Set when the credentials could not be provisioned (e.g. `SecretConflict`). */
  problem?: { reason: string; message: string };
}

export interface CredentialsController {
  reconcile(key: string): Promise<void>;
  /** The last outcome for a Subscription, if it was reconciled since the operator started. */
  outcome(key: string): CredentialOutcome | undefined;
}

export function createCredentialsController(
  ctx: ControllerContext & {
    publicUrls: ReadonlyMap<string, string>;
    randomBytes: RandomBytes;
    /** The outcome of a Subscription changed: its status needs a look. */
    onOutcome: (key: string) => void;
    requeueAfter: (key: string, delayMs: number) => void;
  },
): CredentialsController {
  const outcomes = new Map<string, CredentialOutcome>();
  const secretPath = (namespace: string, name?: string) =>
    resourcePath({ version: 'v1', resource: 'secrets', namespace, ...(name ? { name } : {}) });

  function setOutcome(key: string, outcome: CredentialOutcome): void {
    const before = outcomes.get(key);
    outcomes.set(key, outcome);
    if (JSON.stringify(before) !== JSON.stringify(outcome)) ctx.onOutcome(key);
  }

  /** Credential Secrets this Subscription controls other than `except` (left by a secretName change). */
  function ownedElsewhere(
    subscription: SubscriptionResource,
    except: string | undefined,
  ): V1Secret[] {
    const { namespace, name, uid } = subscription.metadata;
    return ctx.caches.credentialSecrets
      .list()
      .filter(
        (secret) =>
          secret.metadata?.namespace === namespace &&
          secret.metadata?.labels?.[SUBSCRIPTION_LABEL] === name &&
          secret.metadata?.name !== except &&
          isControlledBy(secret, uid),
      );
  }

  async function deleteSecrets(secrets: readonly V1Secret[]): Promise<void> {
    for (const secret of secrets) {
      const { namespace = '', name = '', uid } = secret.metadata ?? {};
      await ctx.client.delete(secretPath(namespace, name), uid ? { uid } : {});
    }
  }

  async function reconcile(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const subscription = ctx.caches.subscriptions.get(namespace, name);
    if (!subscription) {
      // Deleted: the garbage collector removes its Secret (owner reference).
      outcomes.delete(key);
      return;
    }
    const uid = subscription.metadata.uid ?? '';
    const generation = subscription.metadata.generation ?? 1;
    const logger = ctx.logger.child({ controller: 'credentials', subscription: key });
    const existingSecret = subscription.spec.credentials?.existingSecret;

    if (existingSecret !== undefined) {
      await deleteSecrets(ownedElsewhere(subscription, undefined));
      setOutcome(key, { generation, uid, secretName: existingSecret });
      return;
    }

    const secretName = credentialSecretName(subscription);
    const existing = await ctx.client.get<V1Secret>(secretPath(namespace, secretName));
    if (existing && !isControlledBy(existing, uid)) {
      // A Subscription deleted and created again under the same name: its old Secret goes with
      // the garbage collector, and its values must not be lent to the new one meanwhile.
      const leftBehind = (existing.metadata?.ownerReferences ?? []).some(
        (ref) => ref.controller === true && ref.kind === 'Subscription' && ref.name === name,
      );
      const problem = {
        reason: 'SecretConflict',
        message: leftBehind
          ? `Secret ${namespace}/${secretName} belongs to a deleted Subscription of the same name; it is issued anew once the garbage collector removed that Secret`
          : `Secret ${namespace}/${secretName} exists and is not this Subscription's: set spec.secretName to a free name or remove that Secret (it is never overwritten)`,
      };
      if (!leftBehind && outcomes.get(key)?.problem?.reason !== 'SecretConflict') {
        ctx.events.record(subscription, 'Warning', 'SecretConflict', problem.message);
      }
      setOutcome(key, { generation, uid, secretName, problem });
      return;
    }

    const moved = existing ? [] : ownedElsewhere(subscription, secretName);
    const previous: StoredCredentials | undefined = existing
      ? readStoredCredentials(existing)
      : moved.map(readStoredCredentials).find((stored) => stored !== undefined);
    const now = ctx.now();
    const { credentials, changes } = issueCredentials(subscription, previous, now, ctx.randomBytes);
    const urls = tokenUrls(subscription, {
      api: (apiKey) => ctx.caches.apis.get(...namespaceName(apiKey)),
      product: (productKey) => ctx.caches.products.get(...namespaceName(productKey)),
      publicUrls: ctx.publicUrls,
    });
    const desired = desiredCredentialSecret(subscription, credentials, urls, existing);

    if (!existing) {
      try {
        await ctx.client.create(secretPath(namespace), desired);
      } catch (error) {
        // It appeared since the GET: read it again on the retry rather than issue anew.
        if (error instanceof KubeApiError && error.status === 409)
          throw new Error(`Secret ${namespace}/${secretName} appeared meanwhile; retrying`);
        throw error;
      }
    } else if (!sameCredentialSecret(existing, desired)) {
      await ctx.client.replace(secretPath(namespace, secretName), desired);
    }
    if (moved.length > 0) {
      await deleteSecrets(moved);
      logger.info(
        { from: moved.map((s) => s.metadata?.name), to: secretName },
        'credentials moved to the new secretName',
      );
    }

    const issued = changes
      .filter((change) => change.action === 'issued')
      .map((change) => change.credential);
    const rotated = changes.filter((change) => change.action === 'rotated');
    if (issued.length > 0 && previous === undefined) {
      ctx.events.record(
        subscription,
        'Normal',
        'CredentialsIssued',
        `credentials issued into Secret ${secretName}`,
      );
    } else if (issued.length > 0) {
      ctx.events.record(
        subscription,
        'Normal',
        'CredentialsIssued',
        `issued ${issued.join(', ')} into Secret ${secretName}`,
      );
    }
    for (const change of rotated) {
      ctx.events.record(
        subscription,
        'Normal',
        'CredentialRotated',
        `${change.credential} rotated in Secret ${secretName}; the previous value stays valid until ${change.previousValidUntil}`,
      );
    }
    if (changes.length > 0) {
      logger.info(
        { changes: changes.map((c) => `${c.credential}:${c.action}`) },
        'credentials updated',
      );
    }

    const expiry = nextExpiry(credentials);
    if (expiry) ctx.requeueAfter(key, Math.max(0, expiry.getTime() - now.getTime()) + 1_000);
    setOutcome(key, { generation, uid, secretName, clientId: credentials.clientId });
  }

  return {
    reconcile,
    outcome: (key) => outcomes.get(key),
  };
}

function namespaceName(key: string): [string, string] {
  const { namespace, name } = splitKey(key);
  return [namespace, name];
}
