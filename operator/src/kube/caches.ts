/**
 * Everything the operator watches, as supervised informer caches. Controllers read current
 * state from these (level-triggered); the manager turns their events into work-queue keys.
 *
 * - the four Apiway kinds, in `--namespace` or in every namespace;
 * - credential Secrets (`app.kubernetes.io/managed-by=apiway-operator,apiway.net/subscription`),
 *   same scope;
 * - in the system namespace: snapshot ConfigMaps, signing-key Secrets, IdP login Secrets and
 *   gateway report Leases (each by label).
 */

import type {
  KubeConfig,
  KubernetesObject,
  V1ConfigMap,
  V1Lease,
  V1Secret,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import {
  type SupervisedInformer,
  startInformer,
} from '../../../gateway/src/kubernetes/informer.ts';
import { resourcePath } from '../../../gateway/src/kubernetes/kube-client.ts';
import {
  GATEWAY_REPORT_LABEL,
  IDP_LOGINS_ENVIRONMENT_LABEL,
  SIGNING_KEYS_ENVIRONMENT_LABEL,
  SNAPSHOT_ENVIRONMENT_LABEL,
} from '../../../gateway/src/kubernetes/names.ts';
import {
  API_GROUP,
  type ApiResource,
  type IdpAssociationResource,
  type ProductResource,
  type ResourceKind,
  type SubscriptionResource,
} from '../../../gateway/src/resources/types.ts';
import { CREDENTIAL_SECRET_SELECTOR } from '../credentials/credential-secret.ts';

export const PLURALS: Record<ResourceKind, string> = {
  Api: 'apis',
  Product: 'products',
  Subscription: 'subscriptions',
  IdpAssociation: 'idpassociations',
};

/** A typed, read-only view of an informer cache. */
export interface Cache<T> {
  list(): T[];
  get(namespace: string, name: string): T | undefined;
}

export interface Caches {
  apis: Cache<ApiResource>;
  products: Cache<ProductResource>;
  subscriptions: Cache<SubscriptionResource>;
  idpAssociations: Cache<IdpAssociationResource>;
  credentialSecrets: Cache<V1Secret>;
  snapshotConfigMaps: Cache<V1ConfigMap>;
  signingKeySecrets: Cache<V1Secret>;
  idpLoginSecrets: Cache<V1Secret>;
  gatewayLeases: Cache<V1Lease>;
  /** Resolves once every cache completed its first list. */
  synced(): Promise<void>;
  readonly hasSynced: boolean;
  stop(): Promise<void>;
}

export type CacheName = keyof Omit<Caches, 'synced' | 'hasSynced' | 'stop'>;

/** Called for every add, update and delete, with the object as it is now (or was, for a delete). */
export type CacheListener = (cache: CacheName, object: KubernetesObject, deleted: boolean) => void;

export function startCaches(options: {
  kubeConfig: KubeConfig;
  namespace: string | undefined;
  systemNamespace: string;
  logger: Logger;
  listener: CacheListener;
}): Caches {
  const { kubeConfig, namespace, systemNamespace, logger, listener } = options;
  const informers: SupervisedInformer<KubernetesObject>[] = [];

  function cache<T>(
    name: CacheName,
    path: string,
    selectors: { labelSelector?: string } = {},
  ): Cache<T> {
    const informer = startInformer<KubernetesObject>({
      kubeConfig,
      path,
      ...selectors,
      logger,
      events: {
        onAdd: (object) => listener(name, object, false),
        onUpdate: (object) => listener(name, object, false),
        onDelete: (object) => listener(name, object, true),
      },
    });
    informers.push(informer);
    return {
      list: () => informer.list() as T[],
      get: (ns, objectName) => informer.get(objectName, ns) as T | undefined,
    };
  }
  const apiway = (kind: ResourceKind) =>
    resourcePath({
      group: API_GROUP,
      version: 'v1alpha1',
      resource: PLURALS[kind],
      ...(namespace ? { namespace } : {}),
    });

  const caches = {
    apis: cache<ApiResource>('apis', apiway('Api')),
    products: cache<ProductResource>('products', apiway('Product')),
    subscriptions: cache<SubscriptionResource>('subscriptions', apiway('Subscription')),
    idpAssociations: cache<IdpAssociationResource>('idpAssociations', apiway('IdpAssociation')),
    credentialSecrets: cache<V1Secret>(
      'credentialSecrets',
      resourcePath({ version: 'v1', resource: 'secrets', ...(namespace ? { namespace } : {}) }),
      { labelSelector: CREDENTIAL_SECRET_SELECTOR },
    ),
    snapshotConfigMaps: cache<V1ConfigMap>(
      'snapshotConfigMaps',
      resourcePath({ version: 'v1', resource: 'configmaps', namespace: systemNamespace }),
      { labelSelector: SNAPSHOT_ENVIRONMENT_LABEL },
    ),
    signingKeySecrets: cache<V1Secret>(
      'signingKeySecrets',
      resourcePath({ version: 'v1', resource: 'secrets', namespace: systemNamespace }),
      { labelSelector: SIGNING_KEYS_ENVIRONMENT_LABEL },
    ),
    idpLoginSecrets: cache<V1Secret>(
      'idpLoginSecrets',
      resourcePath({ version: 'v1', resource: 'secrets', namespace: systemNamespace }),
      { labelSelector: IDP_LOGINS_ENVIRONMENT_LABEL },
    ),
    gatewayLeases: cache<V1Lease>(
      'gatewayLeases',
      resourcePath({
        group: 'coordination.k8s.io',
        version: 'v1',
        resource: 'leases',
        namespace: systemNamespace,
      }),
      { labelSelector: `${GATEWAY_REPORT_LABEL}=true` },
    ),
  };
  return {
    ...caches,
    synced: async () => {
      await Promise.all(informers.map((informer) => informer.synced()));
    },
    get hasSynced() {
      return informers.every((informer) => informer.hasSynced);
    },
    stop: async () => {
      await Promise.all(informers.map((informer) => informer.stop()));
    },
  };
}
