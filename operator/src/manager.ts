/**
 * The manager: informer caches → work queues → controllers, and leader election.
 *
 * - Every cache syncs before any controller runs: nothing is published from a partial view.
 * - With leader election, every replica keeps warm caches but only the leader runs the
 *   controllers (Lease `apiway-operator` in the system namespace). A replica that loses the
 *   Lease calls `onLostLeadership` (main exits, as controller-runtime does); the other takes
 *   over within the lease duration.
 * - Cache events only say which keys to look at: controllers read current state (level-
 *   triggered). Spec changes of Apiway objects (new generation) queue every environment's
 *   snapshot; status-only updates (the operator's own writes) queue only that object's status.
 * - Gateway reports are checked every second: a gateway appearing, dying (Lease going stale) or
 *   loading a version queues the status of every object of its environment; a change in the
 *   IdP health they report queues the status of the environment's IdpAssociations only.
 * - IdpAssociation changes (and the IdP login Secrets' own events) queue the IdP logins
 *   controller of every environment: it copies their login client secrets for the gateways.
 * - Every `resyncIntervalMs`: references read on demand (configMapRef ConfigMaps,
 *   existingSecret and login clientSecretRef Secrets) are forgotten and every environment is
 *   compiled and its IdP login secrets copied again.
 */

import type {
  KubeConfig,
  KubernetesObject,
  V1ConfigMap,
  V1Namespace,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { createOpenApiParser } from '../../gateway/src/compiler/parse-openapi.ts';
import { referenceKey } from '../../gateway/src/compiler/references.ts';
import type { RandomBytes } from '../../gateway/src/credentials/issue-credentials.ts';
import {
  hasStatus,
  type KubeClient,
  resourcePath,
} from '../../gateway/src/kubernetes/kube-client.ts';
import {
  IDP_LOGINS_ENVIRONMENT_LABEL,
  SIGNING_KEYS_ENVIRONMENT_LABEL,
  SNAPSHOT_ENVIRONMENT_LABEL,
} from '../../gateway/src/kubernetes/names.ts';
import type { ResourceKind } from '../../gateway/src/resources/types.ts';
import { FIELD_MANAGER } from './controllers/context.ts';
import { createCredentialsController } from './controllers/credentials.ts';
import { createIdpLoginsController } from './controllers/idp-logins.ts';
import {
  createSigningKeysController,
  type GenerateSigningKey,
} from './controllers/signing-keys.ts';
import { createSnapshotController, NO_ENVIRONMENT } from './controllers/snapshot.ts';
import { createStatusController } from './controllers/status.ts';
import { SUBSCRIPTION_LABEL } from './credentials/credential-secret.ts';
import {
  freshReports,
  type GatewayReport,
  idpHealthSignature,
  publishedEverywhere,
  readyReplicas,
  reportsSignature,
} from './gateways/gateway-reports.ts';
import { type CacheName, startCaches } from './kube/caches.ts';
import { createEventRecorder } from './kube/events.ts';
import type { OperatorMetrics } from './metrics.ts';
import type { OperatorOptions } from './options.ts';
import { type LeaderElector, startLeaderElection } from './runtime/leader-election.ts';
import { createWorkQueue, type WorkQueue } from './runtime/work-queue.ts';
import { createCompiledResults } from './snapshot/compiled-results.ts';
import { environmentsOf } from './snapshot/environments.ts';
import { createSnapshotGatherer } from './snapshot/gather.ts';
import { createSnapshotHistory } from './snapshot/history.ts';
import { createReferenceReader } from './snapshot/reference-reader.ts';
import { statusKey } from './status/status-key.ts';

export const LEADER_LEASE_NAME = 'apiway-operator';
const GATEWAY_CHECK_INTERVAL_MS = 1_000;

export interface ManagerOptions {
  kubeConfig: KubeConfig;
  client: KubeClient;
  logger: Logger;
  metrics: OperatorMetrics;
  options: OperatorOptions;
  randomBytes: RandomBytes;
  generateSigningKey: GenerateSigningKey;
  /** Leadership lost: stop working (main exits). */
  onLostLeadership: () => void;
  now?: () => Date;
}

export interface Manager {
  /** Resolves once every cache synced (and the controllers run, or wait for leadership). */
  start(): Promise<void>;
  /** True once the caches synced (the readiness of the operator's health endpoint). */
  readonly ready: boolean;
  stop(): Promise<void>;
}

const KIND_OF: Partial<Record<CacheName, ResourceKind>> = {
  apis: 'Api',
  products: 'Product',
  subscriptions: 'Subscription',
  idpAssociations: 'IdpAssociation',
};

export function createManager(deps: ManagerOptions): Manager {
  const { kubeConfig, client, logger, metrics, options } = deps;
  const now = deps.now ?? (() => new Date());
  const systemNamespace = options.systemNamespace;

  const caches = startCaches({
    kubeConfig,
    namespace: options.namespace,
    systemNamespace,
    logger,
    listener: (cache, object, deleted) => onCacheEvent(cache, object, deleted),
  });
  const events = createEventRecorder({ client, logger, identity: options.identity, now });
  const context = { client, caches, events, logger, metrics, systemNamespace, now };
  const references = createReferenceReader(client);
  const history = createSnapshotHistory();
  const results = createCompiledResults();

  let reports = new Map<string, GatewayReport[]>();
  const signatures = new Map<string, string>();
  const idpSignatures = new Map<string, string>();
  let knownEnvironments = new Set<string>();

  const queue = (
    name: string,
    reconcile: (key: string) => Promise<void>,
    workers: number,
  ): WorkQueue =>
    createWorkQueue(
      async (key) => {
        const end = metrics.reconcileDuration.startTimer({ controller: name });
        try {
          await reconcile(key);
          metrics.reconciles.inc({ controller: name, result: 'success' });
        } finally {
          end();
        }
      },
      {
        workers,
        onError: (key, error, retryInMs) => {
          metrics.reconciles.inc({
            controller: name,
            result: retryInMs === undefined ? 'terminal' : 'error',
          });
          logger.warn(
            { controller: name, key, err: (error as Error).message, retryInMs },
            'reconcile failed',
          );
        },
      },
    );

  const credentials = createCredentialsController({
    ...context,
    publicUrls: options.publicUrls,
    randomBytes: deps.randomBytes,
    onOutcome: (key) => {
      const [namespace = '', name = ''] = key.split('/');
      statusQueue.add(statusKey('Subscription', namespace, name));
    },
    requeueAfter: (key, delayMs) => credentialsQueue.addAfter(key, delayMs),
  });
  const signingKeys = createSigningKeysController({
    ...context,
    policy: {
      rotationIntervalMs: options.keyRotationIntervalMs,
      publishLeadMs: options.keyPublishLeadMs,
    },
    generate: deps.generateSigningKey,
    // Only replicas that serve a snapshot count: one still starting loads the whole set anyway.
    publishedEverywhere: (environment, kid) =>
      publishedEverywhere(readyReplicas(reports.get(environment)), kid),
    requeueAfter: (environment, delayMs) => signingQueue.addAfter(environment, delayMs),
  });
  const snapshot = createSnapshotController({
    ...context,
    gatherer: createSnapshotGatherer(createOpenApiParser()),
    references,
    history,
    results,
    onResults: (keys) => {
      for (const key of keys) statusQueue.add(key);
    },
  });
  const idpLogins = createIdpLoginsController({
    ...context,
    references,
    onOutcome: (key) => {
      const [namespace = '', name = ''] = key.split('/');
      statusQueue.add(statusKey('IdpAssociation', namespace, name));
    },
  });
  const status = createStatusController({
    ...context,
    results,
    history,
    readyReplicas: (environment) => readyReplicas(reports.get(environment)),
    credentialOutcome: (key) => credentials.outcome(key),
    loginSecretOutcome: (key) => idpLogins.outcome(key),
  });

  const credentialsQueue = queue('credentials', credentials.reconcile, 2);
  const signingQueue = queue('signing-keys', signingKeys.reconcile, 1);
  const snapshotQueue = queue('snapshot', snapshot.reconcile, 2);
  const statusQueue = queue('status', status.reconcile, 4);
  const idpLoginsQueue = queue('idp-logins', idpLogins.reconcile, 1);
  const queues = [credentialsQueue, signingQueue, snapshotQueue, statusQueue, idpLoginsQueue];

  /** By cache/namespace/name: the uid and generation last seen, to tell spec changes from status writes. */
  const seenGenerations = new Map<string, string>();

  function environments(): string[] {
    const published = caches.snapshotConfigMaps
      .list()
      .map((cm) => cm.metadata?.labels?.[SNAPSHOT_ENVIRONMENT_LABEL] ?? '');
    return environmentsOf({
      apis: caches.apis.list(),
      idpAssociations: caches.idpAssociations.list(),
      published,
      reported: reports.keys(),
    });
  }

  function queueAllEnvironments(): void {
    const current = environments();
    if (current.length === 0) snapshotQueue.add(NO_ENVIRONMENT);
    for (const environment of current) snapshotQueue.add(environment);
  }

  /** Every environment with an IdpAssociation or an IdP login Secret (which may have to go). */
  function queueAllIdpLogins(): void {
    const wanted = new Set(caches.idpAssociations.list().map((idp) => idp.spec.environment));
    for (const secret of caches.idpLoginSecrets.list()) {
      const environment = secret.metadata?.labels?.[IDP_LOGINS_ENVIRONMENT_LABEL];
      if (environment) wanted.add(environment);
    }
    for (const environment of wanted) if (environment) idpLoginsQueue.add(environment);
  }

  /** New environments get a snapshot and keys; the results-only compile goes once one exists. */
  function refreshEnvironments(): void {
    const current = new Set(environments());
    for (const environment of current) {
      if (knownEnvironments.has(environment)) continue;
      snapshotQueue.add(environment);
      signingQueue.add(environment);
    }
    knownEnvironments = current;
    if (current.size > 0 && results.has(NO_ENVIRONMENT)) {
      for (const key of results.remove(NO_ENVIRONMENT)) statusQueue.add(key);
    }
  }

  function checkGateways(): void {
    reports = freshReports(caches.gatewayLeases.list(), now());
    const seen = new Set([...reports.keys(), ...signatures.keys()]);
    for (const environment of seen) {
      const signature = reportsSignature(reports.get(environment));
      if (signatures.get(environment) === signature) continue;
      if (signature === '') signatures.delete(environment);
      else signatures.set(environment, signature);
      for (const key of results.keysIn(environment)) statusQueue.add(key);
      signingQueue.add(environment);
    }
    // The IdP health replicas report changes on its own (discovery runs in the background).
    for (const environment of new Set([...reports.keys(), ...idpSignatures.keys()])) {
      const signature = idpHealthSignature(reports.get(environment));
      if (idpSignatures.get(environment) === signature) continue;
      if (signature === '') idpSignatures.delete(environment);
      else idpSignatures.set(environment, signature);
      for (const idp of caches.idpAssociations.list()) {
        if (idp.spec.environment !== environment) continue;
        statusQueue.add(statusKey('IdpAssociation', idp.metadata.namespace, idp.metadata.name));
      }
    }
    refreshEnvironments();
  }

  function onCacheEvent(cache: CacheName, object: KubernetesObject, deleted: boolean): void {
    const namespace = object.metadata?.namespace ?? '';
    const name = object.metadata?.name ?? '';
    const kind = KIND_OF[cache];
    if (kind) {
      if (!deleted) statusQueue.add(statusKey(kind, namespace, name));
      const seenKey = `${cache}/${namespace}/${name}`;
      const generation = deleted
        ? undefined
        : `${object.metadata?.uid}:${object.metadata?.generation}`;
      if (seenGenerations.get(seenKey) === generation) return; // a status write: no spec change
      if (generation === undefined) seenGenerations.delete(seenKey);
      else seenGenerations.set(seenKey, generation);
      queueAllEnvironments();
      refreshEnvironments();
      if (kind === 'Subscription') credentialsQueue.add(`${namespace}/${name}`);
      if (kind === 'IdpAssociation') queueAllIdpLogins();
      // Before the controllers run, every Subscription is queued anyway (and this scan would
      // cost Apis × Subscriptions while the caches fill).
      if (running && (kind === 'Api' || kind === 'Product'))
        queueSubscriptionsOf(kind, `${namespace}/${name}`);
      return;
    }
    switch (cache) {
      case 'credentialSecrets': {
        const subscription = object.metadata?.labels?.[SUBSCRIPTION_LABEL];
        if (subscription) credentialsQueue.add(`${namespace}/${subscription}`);
        queueAllEnvironments();
        return;
      }
      case 'snapshotConfigMaps': {
        const environment = object.metadata?.labels?.[SNAPSHOT_ENVIRONMENT_LABEL];
        if (environment && snapshot.needsReconcile(object as V1ConfigMap, deleted))
          snapshotQueue.add(environment);
        refreshEnvironments();
        return;
      }
      case 'signingKeySecrets': {
        const environment = object.metadata?.labels?.[SIGNING_KEYS_ENVIRONMENT_LABEL];
        if (environment) signingQueue.add(environment);
        return;
      }
      case 'idpLoginSecrets': {
        // Its own writes come back here too: the reconcile then finds nothing to do.
        const environment = object.metadata?.labels?.[IDP_LOGINS_ENVIRONMENT_LABEL];
        if (environment) idpLoginsQueue.add(environment);
        return;
      }
      case 'gatewayLeases':
        checkGateways();
        return;
    }
  }

  /** A target's spec changed: the `token_url` of its Subscriptions may have. */
  function queueSubscriptionsOf(kind: 'Api' | 'Product', key: string): void {
    const productHasMember = (productKey: string) => {
      const [productNamespace = '', productName = ''] = productKey.split('/');
      const product = caches.products.get(productNamespace, productName);
      return (product?.spec.apis ?? []).some(
        (member) =>
          referenceKey(
            member,
            product?.metadata ?? { namespace: productNamespace, name: productName },
          ) === key,
      );
    };
    for (const subscription of caches.subscriptions.list()) {
      const { api, product } = subscription.spec;
      const apiKey = api ? referenceKey(api, subscription.metadata) : undefined;
      const productKey = product ? referenceKey(product, subscription.metadata) : undefined;
      const affected =
        kind === 'Api'
          ? apiKey === key || (productKey !== undefined && productHasMember(productKey))
          : productKey === key;
      if (affected)
        credentialsQueue.add(`${subscription.metadata.namespace}/${subscription.metadata.name}`);
    }
  }

  function queueEverything(): void {
    checkGateways();
    queueAllEnvironments();
    queueAllIdpLogins();
    for (const environment of environments()) signingQueue.add(environment);
    for (const subscription of caches.subscriptions.list()) {
      credentialsQueue.add(`${subscription.metadata.namespace}/${subscription.metadata.name}`);
    }
    for (const [kind, cache] of [
      ['Api', caches.apis],
      ['Product', caches.products],
      ['Subscription', caches.subscriptions],
      ['IdpAssociation', caches.idpAssociations],
    ] as const) {
      for (const object of cache.list())
        statusQueue.add(statusKey(kind, object.metadata.namespace, object.metadata.name));
    }
  }

  async function ensureSystemNamespace(): Promise<void> {
    const path = resourcePath({ version: 'v1', resource: 'namespaces', name: systemNamespace });
    if (await client.get<V1Namespace>(path)) return;
    try {
      await client.create(resourcePath({ version: 'v1', resource: 'namespaces' }), {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: {
          name: systemNamespace,
          labels: { 'app.kubernetes.io/managed-by': FIELD_MANAGER },
        },
      });
      logger.info({ namespace: systemNamespace }, 'created the system namespace');
    } catch (error) {
      if (!hasStatus(error, 409)) throw error;
    }
  }

  let elector: LeaderElector | undefined;
  let timers: NodeJS.Timeout[] = [];
  let stopped = false;
  let running = false;

  function runControllers(): void {
    if (stopped || running) return;
    running = true;
    metrics.leader.set(1);
    for (const q of queues) q.start();
    queueEverything();
    logger.info('controllers started');
  }

  return {
    get ready() {
      return caches.hasSynced;
    },
    async start() {
      await caches.synced();
      logger.info('caches synced');
      // Created when missing, so operator and gateways work with nothing but KUBECONFIG set.
      for (;;) {
        try {
          await ensureSystemNamespace();
          break;
        } catch (error) {
          logger.warn(
            { err: (error as Error).message },
            'could not ensure the system namespace; retrying',
          );
          await new Promise((resolve) => setTimeout(resolve, 2_000));
          if (stopped) return;
        }
      }
      timers = [
        setInterval(checkGateways, GATEWAY_CHECK_INTERVAL_MS),
        setInterval(() => {
          if (!running) return;
          references.invalidate();
          queueAllEnvironments();
          queueAllIdpLogins();
          for (const environment of environments()) signingQueue.add(environment);
        }, options.resyncIntervalMs),
      ];
      if (!options.leaderElect) {
        runControllers();
        return;
      }
      elector = startLeaderElection({
        client,
        namespace: systemNamespace,
        name: LEADER_LEASE_NAME,
        identity: options.identity,
        logger,
        onStartedLeading: runControllers,
        onStoppedLeading: () => {
          metrics.leader.set(0);
          deps.onLostLeadership();
        },
      });
    },
    async stop() {
      stopped = true;
      for (const timer of timers) clearInterval(timer);
      await Promise.all(queues.map((q) => q.stop()));
      metrics.leader.set(0);
      await elector?.stop();
      await caches.stop();
    },
  };
}
