/**
 * The snapshot controller (key: environment): gather → compile (the same pure compiler as
 * standalone mode) → split into shards of at most 256 KiB → publish as ConfigMaps in the
 * system namespace, changed shards first, then the manifest, then the removal of stale shards
 * (see snapshot/publish-plan.ts for why that order is safe for readers).
 *
 * Before publishing, the compiler's per-object results and the version's object generations
 * are recorded for the status controller (which is told which objects' results changed).
 *
 * The key `NO_ENVIRONMENT` (''), used only while no environment exists at all, compiles
 * without publishing: the compiler reports objects that reach no environment (a Subscription
 * to an Api that does not exist) in every environment it compiles, and with none there must
 * still be one compile for them to get `Accepted=False`.
 */

import { createHash } from 'node:crypto';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { compileSnapshot } from '../../../gateway/src/compiler/compile-snapshot.ts';
import { resourcePath } from '../../../gateway/src/kubernetes/kube-client.ts';
import {
  MANIFEST_DATA_KEY,
  SHARD_DATA_KEY,
  SNAPSHOT_ENVIRONMENT_LABEL,
} from '../../../gateway/src/kubernetes/names.ts';
import { MAX_SHARD_BYTES, splitSnapshot } from '../../../gateway/src/snapshot/shards.ts';
import type { CompiledResults } from '../snapshot/compiled-results.ts';
import type { SnapshotGatherer } from '../snapshot/gather.ts';
import type { SnapshotHistory } from '../snapshot/history.ts';
import { planPublish } from '../snapshot/publish-plan.ts';
import type { ReferenceReader } from '../snapshot/reference-reader.ts';
import { type ControllerContext, FIELD_MANAGER } from './context.ts';

export const NO_ENVIRONMENT = '';

export interface SnapshotController {
  reconcile(environment: string): Promise<void>;
  /**
   * Whether a snapshot ConfigMap event needs a reconcile: false for the echo of the operator's
   * own writes, true when the content differs from what it last published (edited or deleted
   * by someone else), so it is put back.
   */
  needsReconcile(configMap: V1ConfigMap, deleted: boolean): boolean;
}

export function createSnapshotController(
  ctx: ControllerContext & {
    gatherer: SnapshotGatherer;
    references: ReferenceReader;
    history: SnapshotHistory;
    results: CompiledResults;
    /** Called with the status keys whose compile result changed. */
    onResults: (keys: string[]) => void;
    maxShardBytes?: number;
  },
): SnapshotController {
  /** By ConfigMap name: sha256 of the data the operator last published (or found matching). */
  const published = new Map<string, string>();
  const configMapPath = (name: string) =>
    resourcePath({ version: 'v1', resource: 'configmaps', namespace: ctx.systemNamespace, name });

  return {
    async reconcile(environment) {
      const started = performance.now();
      const { caches } = ctx;
      const input = await ctx.gatherer.gather(
        environment,
        {
          apis: caches.apis.list(),
          products: caches.products.list(),
          subscriptions: caches.subscriptions.list(),
          idpAssociations: caches.idpAssociations.list(),
          credentialSecret: (namespace, name) => caches.credentialSecrets.get(namespace, name),
          references: ctx.references,
        },
        ctx.now(),
      );
      const output = compileSnapshot(input);
      if (environment === NO_ENVIRONMENT) {
        ctx.onResults(ctx.results.set(environment, output.results));
        return;
      }
      ctx.history.record(environment, output.snapshot.version, output.snapshot.objects);
      ctx.onResults(ctx.results.set(environment, output.results));

      const split = splitSnapshot(output.snapshot, ctx.maxShardBytes ?? MAX_SHARD_BYTES);
      const existing = caches.snapshotConfigMaps
        .list()
        .filter(
          (configMap) => configMap.metadata?.labels?.[SNAPSHOT_ENVIRONMENT_LABEL] === environment,
        );
      const plan = planPublish(environment, ctx.systemNamespace, split, existing);
      // What already matches is "published" too: its watch events are echoes, not edits.
      for (const configMap of existing) {
        const name = configMap.metadata?.name ?? '';
        if (!plan.stale.includes(name)) published.set(name, dataHash(configMap));
      }
      for (const configMap of [...plan.shards, ...(plan.manifest ? [plan.manifest] : [])]) {
        const name = configMap.metadata?.name as string;
        published.set(name, dataHash(configMap));
        await ctx.client.apply(configMapPath(name), configMap, {
          fieldManager: FIELD_MANAGER,
          force: true,
        });
      }
      for (const name of plan.stale) {
        published.delete(name);
        await ctx.client.delete(configMapPath(name));
      }
      ctx.metrics.snapshotBytes.set(
        { environment },
        split.shards.reduce((sum, shard) => sum + Buffer.byteLength(shard), 0),
      );
      if (plan.shards.length > 0)
        ctx.metrics.snapshotShardsWritten.inc({ environment }, plan.shards.length);
      if (plan.manifest) {
        ctx.logger.info(
          {
            controller: 'snapshot',
            environment,
            version: output.snapshot.version,
            shards: split.shards.length,
            shardsWritten: plan.shards.length,
            ms: Math.round(performance.now() - started),
          },
          'snapshot published',
        );
      }
    },
    needsReconcile(configMap, deleted) {
      const name = configMap.metadata?.name ?? '';
      const expected = published.get(name);
      if (deleted) return expected !== undefined;
      return expected === undefined || expected !== dataHash(configMap);
    },
  };
}

function dataHash(configMap: V1ConfigMap): string {
  const data = configMap.data ?? {};
  return createHash('sha256')
    .update(`${data[MANIFEST_DATA_KEY] ?? ''}\n${data[SHARD_DATA_KEY] ?? ''}`)
    .digest('hex');
}
