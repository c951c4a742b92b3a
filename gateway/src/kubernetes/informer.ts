/**
 * Informers that stay up. `@kubernetes/client-node` informers re-list on 410 Gone by
 * themselves but stop for good on any other watch or list error (429 right after a CRD is
 * established, an API server restart, a dropped connection). A supervised informer restarts
 * them with exponential backoff (reset once a list and watch succeed again), and says when it
 * has completed its first list (synced), so that nothing is published from a partial cache.
 *
 * While the API server is unreachable the cache keeps what it last saw: the operator and the
 * gateways keep working from it, and a re-list reconciles it (deleting what vanished) later.
 *
 * Used by both programs: the operator for everything it watches, the gateway for its snapshot
 * ConfigMaps and signing-key Secret.
 */

import { type KubeConfig, type KubernetesObject, ListWatch, Watch } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { createKubeClient } from './kube-client.ts';

export interface InformerEvents<T> {
  onAdd?: (obj: T) => void;
  onUpdate?: (obj: T) => void;
  onDelete?: (obj: T) => void;
}

export interface SupervisedInformer<T extends KubernetesObject> {
  /** Every object in the cache (of one namespace when given). */
  list(namespace?: string): T[];
  get(name: string, namespace?: string): T | undefined;
  /** Resolves once the first list completed (however many restarts it took). */
  synced(): Promise<void>;
  readonly hasSynced: boolean;
  stop(): Promise<void>;
}

export interface InformerOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  /** The collection path, e.g. `/apis/apiway.net/v1alpha1/apis` or `/api/v1/namespaces/x/configmaps`. */
  path: string;
  /** Applied to the list and to the watch alike. */
  labelSelector?: string;
  fieldSelector?: string;
  logger: Logger;
  events?: InformerEvents<T>;
  /**
   * Applied to every object the list and the watch deliver, before it is cached or handed to
   * `events` (client-go's `SetTransform`): to keep less of each object than the API sends.
   * Must not throw, and must keep `metadata` (name, namespace, resourceVersion).
   */
  transform?: (object: T) => T;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export function startInformer<T extends KubernetesObject>(
  options: InformerOptions<T>,
): SupervisedInformer<T> {
  const client = createKubeClient(options.kubeConfig);
  const selectors = {
    ...(options.labelSelector === undefined ? {} : { labelSelector: options.labelSelector }),
    ...(options.fieldSelector === undefined ? {} : { fieldSelector: options.fieldSelector }),
  };
  const { transform } = options;
  // ListWatch rather than makeInformer: it takes a field selector and exposes latestResourceVersion().
  const informer = new ListWatch<T>(
    options.path,
    transform ? transformingWatch(options.kubeConfig, transform) : new Watch(options.kubeConfig),
    async () => {
      const list = await client.list<T>(options.path, selectors);
      return transform ? { ...list, items: list.items.map(transform) } : list;
    },
    false,
    options.labelSelector,
    options.fieldSelector,
  );
  const logger = options.logger.child({
    informer: options.path,
    ...selectors,
  });
  const baseDelayMs = options.baseDelayMs ?? 250;
  const maxDelayMs = options.maxDelayMs ?? 15_000;
  let stopped = false;
  let hasSynced = false;
  let failures = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let markSynced: () => void = () => {};
  const syncedPromise = new Promise<void>((resolve) => {
    markSynced = resolve;
  });

  const events = options.events ?? {};
  if (events.onAdd) informer.on('add', events.onAdd);
  if (events.onUpdate) informer.on('update', events.onUpdate);
  if (events.onDelete) informer.on('delete', events.onDelete);
  informer.on('error', (error: unknown) => {
    if (stopped) return;
    failures++;
    const delay = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(failures - 1, 10));
    logger.warn({ err: describe(error), retryInMs: delay }, 'list or watch failed; restarting');
    clearTimeout(restartTimer);
    restartTimer = setTimeout(() => void begin(), delay);
  });

  async function begin(): Promise<void> {
    if (stopped) return;
    const failuresBefore = failures;
    try {
      // Resolves once the list (when needed) is done and the watch is connected; list and
      // watch failures are reported through 'error' above.
      await informer.start();
    } catch (error) {
      // Not reported through 'error' (e.g. the kubeconfig's credentials could not be applied):
      // restart the same way.
      failures++;
      const delay = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(failures - 1, 10));
      logger.warn({ err: describe(error), retryInMs: delay }, 'informer start failed; restarting');
      clearTimeout(restartTimer);
      if (!stopped) restartTimer = setTimeout(() => void begin(), delay);
      return;
    }
    if (stopped) return;
    // Reconnected without a new failure: the next outage starts its backoff from the beginning.
    if (failures === failuresBefore) failures = 0;
    // A list that succeeded leaves a resourceVersion behind: that is our "synced" signal.
    if (!hasSynced && informer.latestResourceVersion() !== '') {
      hasSynced = true;
      markSynced();
    }
  }
  void begin();

  return {
    list: (namespace) => [...informer.list(namespace)],
    get: (name, namespace) => informer.get(name, namespace),
    synced: () => syncedPromise,
    get hasSynced() {
      return hasSynced;
    },
    async stop() {
      stopped = true;
      clearTimeout(restartTimer);
      await informer.stop();
    },
  };
}

/** A Watch whose added, modified and deleted objects go through `transform` first. */
function transformingWatch<T>(kubeConfig: KubeConfig, transform: (object: T) => T): Watch {
  const watch = new Watch(kubeConfig);
  const watchPath = watch.watch.bind(watch);
  watch.watch = (path, queryParams, callback, done) =>
    watchPath(
      path,
      queryParams,
      (phase, object, event) =>
        callback(
          phase,
          phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED'
            ? transform(object as T)
            : object,
          event,
        ),
      done,
    );
  return watch;
}

/** Errors from the client may carry response bodies; log only what identifies the failure. */
function describe(error: unknown): { message: string; code?: number } {
  if (error && typeof error === 'object') {
    const e = error as {
      message?: unknown;
      code?: unknown;
      statusCode?: unknown;
      status?: unknown;
    };
    const code =
      typeof e.code === 'number'
        ? e.code
        : typeof e.statusCode === 'number'
          ? e.statusCode
          : typeof e.status === 'number'
            ? e.status
            : undefined;
    return {
      message: String(e.message ?? error).slice(0, 300),
      ...(code === undefined ? {} : { code }),
    };
  }
  return { message: String(error).slice(0, 300) };
}
