/**
 * Reads the objects the Apiway resources refer to but the operator does not watch: the
 * ConfigMaps of `openapi.configMapRef` and the Secrets of `credentials.existingSecret`
 * (watching every ConfigMap and Secret of the cluster would cost memory and need broader
 * access than a GET). Each is read once and then served from memory until `invalidate()`,
 * which the manager calls on every resync: a change to such an object is picked up within the
 * resync interval (or at once when the referring object changes and the reference is new).
 */

import type { KubernetesObject, V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import {
  hasStatus,
  type KubeClient,
  resourcePath,
} from '../../../gateway/src/kubernetes/kube-client.ts';

/** The object, or why it cannot be had (not found, or the operator may not read it). */
export type Reference<T> = { found: true; object: T } | { found: false; message: string };

export interface ReferenceReader {
  configMap(namespace: string, name: string): Promise<Reference<V1ConfigMap>>;
  secret(namespace: string, name: string): Promise<Reference<V1Secret>>;
  invalidate(): void;
}

export function createReferenceReader(client: KubeClient): ReferenceReader {
  let cache = new Map<string, Promise<Reference<KubernetesObject>>>();

  function read<T extends KubernetesObject>(
    kind: string,
    resource: string,
    namespace: string,
    name: string,
  ) {
    const path = resourcePath({ version: 'v1', resource, namespace, name });
    let pending = cache.get(path);
    if (!pending) {
      pending = client.get<T>(path).then(
        (object): Reference<KubernetesObject> =>
          object
            ? { found: true, object }
            : { found: false, message: `${kind} ${namespace}/${name} not found` },
        (error: unknown): Reference<KubernetesObject> => {
          if (hasStatus(error, 403)) {
            return {
              found: false,
              message: `the operator may not read ${kind} ${namespace}/${name} (forbidden)`,
            };
          }
          throw error;
        },
      );
      // A transient failure is not remembered: the next reconcile asks again.
      const stored = pending;
      cache.set(path, stored);
      stored.catch(() => {
        if (cache.get(path) === stored) cache.delete(path);
      });
    }
    return pending as Promise<Reference<T>>;
  }

  return {
    configMap: (namespace, name) => read<V1ConfigMap>('ConfigMap', 'configmaps', namespace, name),
    secret: (namespace, name) => read<V1Secret>('Secret', 'secrets', namespace, name),
    invalidate() {
      cache = new Map();
    },
  };
}
