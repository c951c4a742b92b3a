/**
 * The IdP logins controller (key: environment): keeps the Secret `apiway-idp-logins-<env>` in
 * the system namespace holding the client secret of every IdpAssociation `login` of that
 * environment (idp/login-secrets.ts decides what), and remembers per IdpAssociation whether its
 * `clientSecretRef` could be read, for its `Accepted` condition.
 *
 * - The referenced Secrets are read on demand through the ReferenceReader (never watched: that
 *   would mean watching every Secret of the cluster), so a change to one is copied within the
 *   resync interval, and at once when the IdpAssociation changes.
 * - Written by server-side apply (field manager `apiway-operator`) only when its data differs
 *   from the cached one; deleted when no login of the environment has a secret. The Secret holds
 *   nothing that is not already in a Secret of the user: it is a copy the gateways may read.
 * - Nothing is logged about values: only which IdpAssociations have a secret.
 */

import type { V1Secret } from '@kubernetes/client-node';
import { resourcePath } from '../../../gateway/src/kubernetes/kube-client.ts';
import { idpLoginsSecretName } from '../../../gateway/src/kubernetes/names.ts';
import {
  desiredIdpLoginsSecret,
  type LoginSecretOutcome,
  loginSecretReferences,
  planIdpLogins,
  sameIdpLoginsSecret,
} from '../idp/login-secrets.ts';
import type { Reference, ReferenceReader } from '../snapshot/reference-reader.ts';
import { type ControllerContext, FIELD_MANAGER, splitKey } from './context.ts';

export interface IdpLoginsController {
  reconcile(environment: string): Promise<void>;
  /** The last outcome for an IdpAssociation (`namespace/name`) that has a `clientSecretRef`. */
  outcome(key: string): LoginSecretOutcome | undefined;
}

export function createIdpLoginsController(
  ctx: ControllerContext & {
    references: ReferenceReader;
    /** The outcome of an IdpAssociation (`namespace/name`) changed: its status needs a look. */
    onOutcome: (key: string) => void;
  },
): IdpLoginsController {
  const outcomes = new Map<string, LoginSecretOutcome>();

  return {
    async reconcile(environment) {
      const associations = ctx.caches.idpAssociations.list();
      const secrets = new Map<string, Reference<V1Secret>>();
      for (const key of loginSecretReferences(environment, associations)) {
        const { namespace, name } = splitKey(key);
        secrets.set(key, await ctx.references.secret(namespace, name));
      }
      const plan = planIdpLogins(environment, associations, secrets);

      const name = idpLoginsSecretName(environment);
      const path = resourcePath({
        version: 'v1',
        resource: 'secrets',
        namespace: ctx.systemNamespace,
        name,
      });
      const existing = ctx.caches.idpLoginSecrets.get(ctx.systemNamespace, name);
      const ids = [...plan.outcomes].filter(([, o]) => !o.problem).map(([id]) => id);
      if (Object.keys(plan.data).length === 0) {
        if (existing) {
          await ctx.client.delete(path);
          ctx.logger.info(
            { controller: 'idp-logins', environment },
            'no IdpAssociation login secret left: deleted the Secret',
          );
        }
      } else {
        const desired = desiredIdpLoginsSecret(environment, ctx.systemNamespace, plan.data);
        if (!sameIdpLoginsSecret(existing, desired)) {
          await ctx.client.apply(path, desired, { fieldManager: FIELD_MANAGER, force: true });
          ctx.logger.info(
            { controller: 'idp-logins', environment, idpAssociations: ids },
            'IdpAssociation login secrets copied for the gateways',
          );
        }
      }

      // Outcomes only after the write: Accepted=True then means the gateways can have the secret.
      for (const [key, outcome] of outcomes) {
        if (outcome.environment === environment && !plan.outcomes.has(key)) {
          outcomes.delete(key);
          ctx.onOutcome(key);
        }
      }
      for (const [key, outcome] of plan.outcomes) {
        const before = outcomes.get(key);
        outcomes.set(key, outcome);
        if (JSON.stringify(before) !== JSON.stringify(outcome)) ctx.onOutcome(key);
      }
    },
    outcome: (key) => outcomes.get(key),
  };
}
