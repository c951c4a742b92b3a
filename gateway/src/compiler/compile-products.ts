/**
 * One Product → the member Apis it serves in this environment. A member that cannot be served
 * (missing, not Accepted, or of a namespace that does not allow this Product) makes the Product
 * `Accepted=False`, while its other members stay served: one broken Api must not cut every
 * consumer of the bundle off the healthy ones.
 */

import type { ApiResource, ProductResource } from '../resources/types.ts';
import { objectKey } from '../resources/types.ts';
import type { RateLimitRule, SnapshotApi } from '../snapshot/schema.ts';
import type { Problem } from './conditions.ts';
import { codeUnitOrder } from './path-precedence.ts';
import { rateLimitRules } from './rate-limits.ts';
import { namespaceAllowed, referenceKey } from './references.ts';

export interface CompiledProduct {
  id: string;
  resource: ProductResource;
  /** False when the Product's own spec is invalid: then it serves nothing. */
  servable: boolean;
  /** Served member Apis of this environment, sorted by id. */
  members: SnapshotApi[];
  rateLimit: RateLimitRule[];
  problems: Problem[];
}

export interface ApiLookup {
  environment: string;
  /** Every Api, in any environment. */
  resources: ReadonlyMap<string, ApiResource>;
  /** The Apis this environment serves. */
  served: ReadonlyMap<string, SnapshotApi>;
  /** Why an Api of this environment is not served (its first problem's reason). */
  rejected: ReadonlyMap<string, string>;
}

export function compileProduct(resource: ProductResource, apis: ApiLookup): CompiledProduct {
  const id = objectKey(resource.metadata);
  const problems: Problem[] = [];
  const limits = rateLimitRules(resource.spec.rateLimit, 'product', id, 'spec.rateLimit');
  if ('problem' in limits) problems.push({ reason: 'InvalidSpec', message: limits.problem });
  const references = Array.isArray(resource.spec.apis) ? resource.spec.apis : [];
  if (references.length === 0)
    problems.push({ reason: 'InvalidSpec', message: 'spec.apis must list at least one Api' });

  const members = new Map<string, SnapshotApi>();
  for (const reference of references) {
    const key = referenceKey(reference, resource.metadata);
    const api = apis.resources.get(key);
    if (!api) {
      problems.push({ reason: 'ApiNotFound', message: `Api ${key} not found` });
      continue;
    }
    // A member of another environment only is that environment's business.
    if (!Array.isArray(api.spec.environments) || !api.spec.environments.includes(apis.environment))
      continue;
    // Bundling is subscribing on behalf of others: without this, a Product in any namespace
    // could open another team's Api to everyone.
    if (
      !namespaceAllowed(api.spec.subscribers, api.metadata.namespace, resource.metadata.namespace)
    ) {
      problems.push({
        reason: 'NamespaceNotAllowed',
        message: `Api ${key} does not allow namespace ${resource.metadata.namespace} (its spec.subscribers.namespaces)`,
      });
      continue;
    }
    const served = apis.served.get(key);
    if (!served) {
      problems.push({
        reason: 'ApiNotAccepted',
        message: `Api ${key} is not Accepted (${apis.rejected.get(key) ?? 'unknown'})`,
      });
      continue;
    }
    members.set(key, served);
  }

  const servable = !problems.some((problem) => problem.reason === 'InvalidSpec');
  return {
    id,
    resource,
    servable,
    members: servable ? [...members.values()].sort((a, b) => codeUnitOrder(a.id, b.id)) : [],
    rateLimit: 'rules' in limits ? limits.rules : [],
    problems,
  };
}
