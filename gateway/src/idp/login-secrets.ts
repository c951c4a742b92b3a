/**
 * The client secrets of IdpAssociation logins, resolved from Secret objects: what a snapshot
 * source hands to `Gateway.update` next to the snapshot (which never carries a secret).
 * Standalone: the Secrets of the config dir. Pure; never names a value in anything it returns.
 */

import type { SecretResource } from '../resources/types.ts';
import type { SnapshotIdp } from '../snapshot/schema.ts';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * By IdpAssociation id, the value of `login.clientSecretRef` (`stringData` wins over `data`, as
 * the API server merges them; `data` is base64). IdPs whose Secret or key is missing, empty or
 * not base64 are left out: the gateway then refuses to sign users in with that IdP and says why.
 */
export function idpLoginSecrets(
  idps: readonly SnapshotIdp[],
  secrets: readonly SecretResource[],
): Map<string, string> {
  const byKey = new Map(secrets.map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s]));
  const result = new Map<string, string>();
  for (const idp of idps) {
    const ref = idp.login?.clientSecretRef;
    if (!ref) continue;
    const secret = byKey.get(`${ref.namespace}/${ref.name}`);
    const value = secret && secretValue(secret, ref.key);
    if (value !== undefined) result.set(idp.id, value);
  }
  return result;
}

function secretValue(secret: SecretResource, key: string): string | undefined {
  const plain = secret.stringData?.[key];
  if (typeof plain === 'string') return plain === '' ? undefined : plain;
  const encoded = secret.data?.[key];
  if (typeof encoded !== 'string' || encoded === '' || !BASE64.test(encoded)) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  return decoded === '' ? undefined : decoded;
}
