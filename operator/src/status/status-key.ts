/**
 * The status work queue's key of an object: `Kind/namespace/name` (kinds have no `/`, and
 * neither have namespaces or names).
 */

import type { ResourceKind } from '../../../gateway/src/resources/types.ts';

export const RESOURCE_KINDS: readonly ResourceKind[] = [
  'Api',
  'Product',
  'Subscription',
  'IdpAssociation',
];

export function statusKey(kind: ResourceKind, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

export function parseStatusKey(
  key: string,
): { kind: ResourceKind; namespace: string; name: string } | undefined {
  const [kind, namespace, name, ...rest] = key.split('/');
  if (rest.length > 0 || !namespace || !name || !RESOURCE_KINDS.includes(kind as ResourceKind))
    return undefined;
  return { kind: kind as ResourceKind, namespace, name };
}
