/**
 * The login client secrets of a snapshot's IdPs, from the Secret `apiway-idp-logins-<env>` the
 * operator keeps in the system namespace (one data key per IdpAssociation, `idpLoginSecretKey`):
 * what `Gateway.update` takes next to the snapshot, which never carries a secret. Pure.
 *
 * Only IdPs whose `login` has a `clientSecretRef` are looked up; a missing Secret or key leaves
 * that IdP out (the gateway then refuses to sign users in with it and says why, as in
 * standalone mode). Never names a value in anything it returns but the map itself.
 */

import { createHash } from 'node:crypto';
import type { V1Secret } from '@kubernetes/client-node';
import type { SnapshotIdp } from '../snapshot/schema.ts';
import { idpLoginSecretKey } from './names.ts';

export interface IdpLoginSecrets {
  /** By IdpAssociation id (`namespace/name`). */
  secrets: Map<string, string>;
  /** sha256 over the ids and values: changes whenever what the gateway would load does. */
  version: string;
}

export function readIdpLoginSecrets(
  secret: V1Secret | undefined,
  idps: readonly SnapshotIdp[],
): IdpLoginSecrets {
  const secrets = new Map<string, string>();
  const hash = createHash('sha256');
  for (const idp of [...idps].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    if (!idp.login?.clientSecretRef) continue;
    const encoded = secret?.data?.[idpLoginSecretKey(idp.id)];
    if (encoded === undefined || encoded === '') continue;
    const value = Buffer.from(encoded, 'base64').toString('utf8');
    if (value === '') continue;
    secrets.set(idp.id, value);
    hash.update(`${JSON.stringify([idp.id, value])}\n`);
  }
  return { secrets, version: hash.digest('hex') };
}
