/**
 * How objects refer to each other, which environment each belongs to, who is older, and who may
 * reference whom across namespaces.
 */

import type {
  ApiResource,
  ObjectMeta,
  ObjectReference,
  ProductResource,
  SubscribersSpec,
  SubscriptionResource,
} from '../resources/types.ts';
import { objectKey } from '../resources/types.ts';
import { codeUnitOrder } from './path-precedence.ts';

/** "namespace/name" of a reference; its namespace defaults to the referring object's. */
export function referenceKey(reference: ObjectReference, from: ObjectMeta): string {
  return `${reference.namespace ?? from.namespace}/${reference.name}`;
}

/**
 * Oldest first: `creationTimestamp`, then "namespace/name". An object without a (valid)
 * timestamp (a standalone file) counts as newer than any that has one.
 */
export function compareByAge(a: ObjectMeta, b: ObjectMeta): number {
  const x = timestamp(a);
  const y = timestamp(b);
  if (x !== y) {
    if (x === undefined) return 1;
    if (y === undefined) return -1;
    return x - y;
  }
  return codeUnitOrder(objectKey(a), objectKey(b));
}

function timestamp(meta: ObjectMeta): number | undefined {
  if (meta.creationTimestamp === undefined) return undefined;
  const time = Date.parse(meta.creationTimestamp);
  return Number.isNaN(time) ? undefined : time;
}

export function generationOf(meta: ObjectMeta): number {
  return meta.generation ?? 1;
}

/**
 * The environments an object's references reach. Apis name theirs; a Product reaches those of
 * its existing members; a Subscription those of its target.
 */
export interface EnvironmentIndex {
  ofApi(key: string): ReadonlySet<string>;
  ofProduct(key: string): ReadonlySet<string>;
  ofSubscription(subscription: SubscriptionResource): ReadonlySet<string>;
}

const NONE: ReadonlySet<string> = new Set();

export function environmentIndex(
  apis: ReadonlyMap<string, ApiResource>,
  products: ReadonlyMap<string, ProductResource>,
): EnvironmentIndex {
  const ofApi = (key: string): ReadonlySet<string> => {
    const environments = apis.get(key)?.spec.environments;
    return Array.isArray(environments) ? new Set(environments) : NONE;
  };
  const ofProduct = (key: string): ReadonlySet<string> => {
    const product = products.get(key);
    if (!product || !Array.isArray(product.spec.apis)) return NONE;
    const environments = new Set<string>();
    for (const member of product.spec.apis) {
      for (const environment of ofApi(referenceKey(member, product.metadata)))
        environments.add(environment);
    }
    return environments;
  };
  return {
    ofApi,
    ofProduct,
    ofSubscription(subscription) {
      const { api, product } = subscription.spec;
      if (api && !product) return ofApi(referenceKey(api, subscription.metadata));
      if (product && !api) return ofProduct(referenceKey(product, subscription.metadata));
      return NONE;
    },
  };
}

/**
 * Whether an object whose references reach `environments` is compiled in `environment`. An
 * object that reaches none (its target does not exist anywhere) is reported by every
 * environment, so that its `ApiNotFound` / `ProductNotFound` reaches its status.
 */
export function belongsTo(environments: ReadonlySet<string>, environment: string): boolean {
  return environments.size === 0 || environments.has(environment);
}

/**
 * May an object of namespace `namespace` reference (subscribe to, or bundle) an Api or Product
 * of `ownerNamespace`? Its own namespace always may; others when `subscribers.namespaces` lists
 * them or `*`. Without a list, only the owner's namespace.
 */
export function namespaceAllowed(
  subscribers: SubscribersSpec | undefined,
  ownerNamespace: string,
  namespace: string,
): boolean {
  if (namespace === ownerNamespace) return true;
  const allowed = subscribers?.namespaces;
  // No list: any namespace may subscribe (SPEC.md's own example subscribes from `acme` to a
  // Product in `platform`); a platform team restricts it by listing namespaces.
  if (!Array.isArray(allowed)) return true;
  return allowed.includes('*') || allowed.includes(namespace);
}
