/**
 * One IdpAssociation → the external issuer its Apis trust. Like a Product, an unresolved Api
 * makes it `Accepted=False` while the Apis that resolve keep trusting the IdP.
 */

import type { IdpAssociationResource } from '../resources/types.ts';
import { objectKey } from '../resources/types.ts';
import type { SnapshotIdp } from '../snapshot/schema.ts';
import type { ApiLookup } from './compile-products.ts';
import type { Problem } from './conditions.ts';
import { codeUnitOrder } from './path-precedence.ts';
import { referenceKey } from './references.ts';

export interface CompiledIdp {
  problems: Problem[];
  /** Absent when its own spec is invalid. */
  idp?: SnapshotIdp;
}

export function compileIdpAssociation(
  resource: IdpAssociationResource,
  apis: ApiLookup,
): CompiledIdp {
  const meta = resource.metadata;
  const spec = resource.spec;
  const problems: Problem[] = [];
  const invalidSpec = (message: string) => problems.push({ reason: 'InvalidSpec', message });

  if (typeof spec.issuer !== 'string' || !isHttpUrl(spec.issuer)) {
    invalidSpec('spec.issuer must be an absolute http or https URL');
  }
  const audiences = spec.audiences;
  if (
    !Array.isArray(audiences) ||
    audiences.length === 0 ||
    audiences.some((a) => typeof a !== 'string' || a === '')
  ) {
    invalidSpec('spec.audiences must list at least one audience');
  }
  const scopeClaim = spec.scopeClaim ?? 'scope';
  if (typeof scopeClaim !== 'string' || scopeClaim === '')
    invalidSpec('spec.scopeClaim must be a claim name');
  if (
    spec.login !== undefined &&
    (typeof spec.login.clientId !== 'string' || spec.login.clientId === '')
  ) {
    invalidSpec('spec.login.clientId must be set');
  }
  const invalid = problems.length > 0;

  const resolved = new Set<string>();
  for (const reference of Array.isArray(spec.apis) ? spec.apis : []) {
    const key = referenceKey(reference, meta);
    // Trusting an issuer is the Api owner's decision: an IdpAssociation of another namespace
    // could otherwise make an Api accept tokens of any issuer it likes.
    if ((reference.namespace ?? meta.namespace) !== meta.namespace) {
      problems.push({
        reason: 'NamespaceNotAllowed',
        message: `Api ${key} is in another namespace: an IdpAssociation can only name Apis of its own namespace`,
      });
      continue;
    }
    const api = apis.resources.get(key);
    if (
      !api ||
      !Array.isArray(api.spec.environments) ||
      !api.spec.environments.includes(apis.environment)
    ) {
      problems.push({
        reason: 'ApiNotFound',
        message: api
          ? `Api ${key} is not served in environment ${apis.environment}`
          : `Api ${key} not found`,
      });
      continue;
    }
    if (!apis.served.has(key)) {
      problems.push({
        reason: 'ApiNotAccepted',
        message: `Api ${key} is not Accepted (${apis.rejected.get(key)})`,
      });
      continue;
    }
    resolved.add(key);
  }
  if (invalid) return { problems };

  const idp: SnapshotIdp = {
    id: objectKey(meta),
    issuer: spec.issuer,
    audiences: [...audiences],
    apis: [...resolved].sort(codeUnitOrder),
    scopeClaim,
  };
  if (spec.login !== undefined) {
    const ref = spec.login.clientSecretRef;
    idp.login = {
      clientId: spec.login.clientId,
      ...(ref !== undefined
        ? { clientSecretRef: { namespace: meta.namespace, name: ref.name, key: ref.key } }
        : {}),
    };
  }
  return { problems, idp };
}

function isHttpUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const { protocol } = new URL(value);
  return protocol === 'https:' || protocol === 'http:';
}
