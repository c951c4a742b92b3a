/**
 * The Secret `apiway-idp-logins-<env>` in the system namespace: the client secret of every
 * IdpAssociation `login.clientSecretRef` of one environment, copied from the Secret it names in
 * the IdpAssociation's namespace, one data key per IdpAssociation (`idpLoginSecretKey`). It
 * exists so that gateways read one Secret of their own, by name, and no Secret of a user's
 * namespace. Pure: the controller reads the referenced Secrets and writes the result.
 *
 * A reference that cannot be had is the IdpAssociation's problem, shown as `Accepted=False`:
 * `SecretNotFound` (no such Secret, or the operator may not read it) or `SecretInvalid` (no
 * such key, or an empty value). Its login then has no secret in the gateways, which refuse to
 * sign users in with it (`temporarily_unavailable`) and say why in their logs.
 */

import type { V1Secret } from '@kubernetes/client-node';
import {
  IDP_LOGINS_ENVIRONMENT_LABEL,
  idpLoginSecretKey,
  idpLoginsSecretName,
  MANAGED_BY_LABEL,
  OPERATOR_NAME,
} from '../../../gateway/src/kubernetes/names.ts';
import { type IdpAssociationResource, objectKey } from '../../../gateway/src/resources/types.ts';
import type { Reference } from '../snapshot/reference-reader.ts';

export interface LoginSecretOutcome {
  /** The IdpAssociation generation and uid this outcome was decided for. */
  generation: number;
  uid: string;
  environment: string;
  problem?: { reason: 'SecretNotFound' | 'SecretInvalid'; message: string };
}

export interface IdpLoginsPlan {
  /** The Secret's `data` (base64 values), by `idpLoginSecretKey`; empty: no Secret is needed. */
  data: Record<string, string>;
  /** By IdpAssociation `namespace/name`: each association of the environment with a `clientSecretRef`. */
  outcomes: Map<string, LoginSecretOutcome>;
}

/** The `clientSecretRef` Secrets to read for `environment`, as `namespace/name`. */
export function loginSecretReferences(
  environment: string,
  associations: readonly IdpAssociationResource[],
): string[] {
  const keys = new Set<string>();
  for (const association of associations) {
    const ref = association.spec.login?.clientSecretRef;
    if (association.spec.environment !== environment || !ref) continue;
    keys.add(`${association.metadata.namespace}/${ref.name}`);
  }
  return [...keys].sort();
}

/** `secrets`: what reading each of `loginSecretReferences` gave, by `namespace/name`. */
export function planIdpLogins(
  environment: string,
  associations: readonly IdpAssociationResource[],
  secrets: ReadonlyMap<string, Reference<V1Secret>>,
): IdpLoginsPlan {
  const data: Record<string, string> = {};
  const outcomes = new Map<string, LoginSecretOutcome>();
  const sorted = [...associations].sort((a, b) =>
    objectKey(a.metadata) < objectKey(b.metadata) ? -1 : 1,
  );
  for (const association of sorted) {
    const ref = association.spec.login?.clientSecretRef;
    if (association.spec.environment !== environment || !ref) continue;
    const id = objectKey(association.metadata);
    const { namespace } = association.metadata;
    const outcome: LoginSecretOutcome = {
      generation: association.metadata.generation ?? 1,
      uid: association.metadata.uid ?? '',
      environment,
    };
    outcomes.set(id, outcome);
    const read = secrets.get(`${namespace}/${ref.name}`);
    if (!read?.found) {
      outcome.problem = {
        reason: 'SecretNotFound',
        message: `${read?.message ?? `Secret ${namespace}/${ref.name} not read`} (spec.login.clientSecretRef): the gateways cannot sign users in with this IdP until it can be read`,
      };
      continue;
    }
    const value = read.object.data?.[ref.key];
    if (value === undefined || value === '' || Buffer.from(value, 'base64').length === 0) {
      outcome.problem = {
        reason: 'SecretInvalid',
        message: `Secret ${namespace}/${ref.name} has no value under key ${ref.key} (spec.login.clientSecretRef): the gateways cannot sign users in with this IdP until it has one`,
      };
      continue;
    }
    data[idpLoginSecretKey(id)] = value;
  }
  return { data, outcomes };
}

/** The Secret to apply (server-side) for `data`. */
export function desiredIdpLoginsSecret(
  environment: string,
  systemNamespace: string,
  data: Record<string, string>,
): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: idpLoginsSecretName(environment),
      namespace: systemNamespace,
      labels: {
        [MANAGED_BY_LABEL]: OPERATOR_NAME,
        [IDP_LOGINS_ENVIRONMENT_LABEL]: environment,
      },
    },
    data,
  };
}

/** Whether `existing` already holds exactly `desired`'s data and labels (no write needed). */
export function sameIdpLoginsSecret(existing: V1Secret | undefined, desired: V1Secret): boolean {
  if (!existing) return false;
  const labels = existing.metadata?.labels ?? {};
  for (const [label, value] of Object.entries(desired.metadata?.labels ?? {})) {
    if (labels[label] !== value) return false;
  }
  const have = existing.data ?? {};
  const want = desired.data ?? {};
  const keys = Object.keys(want);
  return Object.keys(have).length === keys.length && keys.every((key) => have[key] === want[key]);
}
