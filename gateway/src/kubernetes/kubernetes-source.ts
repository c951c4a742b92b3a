/**
 * The gateway's Kubernetes source (`--source kubernetes`): the environment's snapshot and
 * signing keys, read through the API (not a volume), as the operator writes them in the system
 * namespace.
 *
 * - Three supervised informers: the ConfigMaps labelled `apiway.net/snapshot-environment=<env>`
 *   (the manifest and its shards), and the two Secrets `apiway-signing-keys-<env>` and
 *   `apiway-idp-logins-<env>` (each by a field selector on its name, so a Role restricted to
 *   those names by `resourceNames` suffices). The second holds the client secrets of the
 *   environment's IdpAssociation logins, copied there by the operator: the gateway reads no
 *   Secret of a user's namespace. It may be absent (no login has a secret).
 * - After a change (debounced, so a burst of shard updates is read once), the snapshot is
 *   assembled from the cache; it is handed over only when the manifest and every shard it names
 *   match (sha256), and the key set is readable. Anything less keeps what is served. A change of
 *   the login secrets alone is handed over too (same snapshot, new secrets).
 * - The ConfigMap cache keeps each shard's text only until it is parsed (`holdShardData`), then
 *   its sha256 and parsed content: the snapshot is in memory once, not also as JSON.
 * - While the API server is unreachable the informers retry and the caches keep their content:
 *   the gateway keeps serving its last snapshot.
 * - What was loaded, and the health of the IdPs it trusts, are reported through the gateway's
 *   report Lease (gateway-report.ts).
 */

import type { KubeConfig, V1Secret } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { IdpHealth } from '../idp/idp-health.ts';
import type { SigningKeySet } from '../oauth/signing-keys.ts';
import type { Snapshot } from '../snapshot/schema.ts';
import { createShardReader } from '../snapshot/shards.ts';
import { type GatewayReport, startGatewayReport } from './gateway-report.ts';
import { startInformer } from './informer.ts';
import { createKubeClient, resourcePath } from './kube-client.ts';
import { idpLoginsSecretName, SNAPSHOT_ENVIRONMENT_LABEL, signingKeysSecretName } from './names.ts';
import { readIdpLoginSecrets } from './read-idp-logins.ts';
import { readSigningKeys } from './read-signing-keys.ts';
import { type CachedConfigMap, holdShardData, readSnapshotInSlices } from './read-snapshot.ts';

export interface KubernetesSourceOptions {
  kubeConfig: KubeConfig;
  /** Where the operator writes snapshots and signing keys (default `apiway-system` in main). */
  namespace: string;
  environment: string;
  /** This process, in its report Lease (a pod name or host name). */
  identity: string;
  logger: Logger;
  /**
   * Called with every complete, consistent snapshot and key set, with the login client secrets
   * of its IdPs (by IdpAssociation id, as `Gateway.update` takes them), whenever one of the three
   * differs from what was handed over last. Throw (or reject) to refuse it: the previous one
   * stays, and the report keeps naming the previous version.
   */
  onSnapshot: (
    snapshot: Snapshot,
    keys: SigningKeySet,
    idpLoginSecrets: ReadonlyMap<string, string>,
  ) => void | Promise<void>;
  /** The health of the IdPs the gateway trusts (`Gateway.idpHealth`), for the report Lease. */
  idpHealth?: () => readonly IdpHealth[];
  debounceMs?: number;
  report?: { renewIntervalMs?: number; leaseDurationSeconds?: number };
}

export interface KubernetesSource {
  /** The snapshot version handed over last, if any. */
  readonly version: string | undefined;
  stop(): Promise<void>;
}

export function startKubernetesSource(options: KubernetesSourceOptions): KubernetesSource {
  const { kubeConfig, namespace, environment, identity } = options;
  const logger = options.logger.child({ source: 'kubernetes', namespace });
  const debounceMs = options.debounceMs ?? 50;
  const secretName = signingKeysSecretName(environment);
  const loginsName = idpLoginsSecretName(environment);
  const client = createKubeClient(kubeConfig);

  const report: GatewayReport = startGatewayReport({
    client,
    namespace,
    environment,
    identity,
    logger,
    ...(options.idpHealth ? { idpHealth: options.idpHealth } : {}),
    ...options.report,
  });

  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let pending = false;
  let stopped = false;
  let loaded: { version: string; keysVersion: string; loginsVersion: string } | undefined;
  /** What was last refused or found incomplete, so each problem is logged once. */
  let lastProblem = '';

  const schedule = () => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => void refresh(), debounceMs);
  };
  const events = { onAdd: schedule, onUpdate: schedule, onDelete: schedule };

  const configMaps = startInformer<CachedConfigMap>({
    kubeConfig,
    path: resourcePath({ version: 'v1', resource: 'configmaps', namespace }),
    labelSelector: `${SNAPSHOT_ENVIRONMENT_LABEL}=${environment}`,
    logger,
    events,
    transform: holdShardData,
  });
  const secrets = startInformer<V1Secret>({
    kubeConfig,
    path: resourcePath({ version: 'v1', resource: 'secrets', namespace }),
    fieldSelector: `metadata.name=${secretName}`,
    logger,
    events,
  });
  const logins = startInformer<V1Secret>({
    kubeConfig,
    path: resourcePath({ version: 'v1', resource: 'secrets', namespace }),
    fieldSelector: `metadata.name=${loginsName}`,
    logger,
    events,
  });

  function problem(message: string, level: 'info' | 'warn'): void {
    if (message === lastProblem) return;
    lastProblem = message;
    logger[level](message);
  }

  const reader = createShardReader();

  async function refresh(): Promise<void> {
    if (running) {
      pending = true;
      return;
    }
    running = true;
    try {
      if (!configMaps.hasSynced || !secrets.hasSynced || !logins.hasSynced) return;
      // Shards are parsed once per content hash, in slices: a one-shard change parses one shard
      // and never blocks the event loop for long.
      const snapshot = await readSnapshotInSlices(environment, configMaps.list(namespace), reader);
      if (!snapshot.ok) {
        // Missing or mismatching shards are normal while a version is being written.
        problem(`snapshot not loadable yet: ${snapshot.message}`, loaded ? 'info' : 'warn');
        return;
      }
      const keys = readSigningKeys(secrets.get(secretName, namespace), secretName);
      if (!keys.ok) {
        problem(`signing keys not loadable: ${keys.message}`, 'warn');
        return;
      }
      const loginSecrets = readIdpLoginSecrets(
        logins.get(loginsName, namespace),
        snapshot.snapshot.idps,
      );
      if (
        loaded?.version === snapshot.snapshot.version &&
        loaded.keysVersion === keys.version &&
        loaded.loginsVersion === loginSecrets.version
      )
        return;
      try {
        await options.onSnapshot(snapshot.snapshot, keys.keys, loginSecrets.secrets);
      } catch (error) {
        problem(
          `refused snapshot ${snapshot.snapshot.version} (still serving ${loaded?.version ?? 'nothing'}): ${(error as Error).message}`,
          'warn',
        );
        return;
      }
      loaded = {
        version: snapshot.snapshot.version,
        keysVersion: keys.version,
        loginsVersion: loginSecrets.version,
      };
      lastProblem = '';
      // How many login secrets, never which values.
      logger.info(
        { version: loaded.version, idpLoginSecrets: loginSecrets.secrets.size },
        'snapshot loaded',
      );
      report.update({
        snapshotVersion: loaded.version,
        signingKeyIds: keys.keys.keys.map((key) => key.kid),
      });
    } finally {
      running = false;
      if (pending && !stopped) {
        pending = false;
        schedule();
      }
    }
  }

  void Promise.all([configMaps.synced(), secrets.synced(), logins.synced()]).then(schedule);

  return {
    get version() {
      return loaded?.version;
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await Promise.all([configMaps.stop(), secrets.stop(), logins.stop()]);
      await report.stop();
    },
  };
}
