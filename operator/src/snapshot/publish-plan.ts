/**
 * Which ConfigMaps to write for a new snapshot version, and in which order. Pure.
 *
 * Shards first (only those whose content changed: one Subscription change rewrites one shard),
 * then the manifest that names them, then the shards no manifest names any more. A gateway
 * assembles a version only when the manifest and every shard it names match, so at every step
 * it either keeps the previous version or takes the whole new one.
 *
 * "Changed" is decided from the content the API server holds (its sha256 computed here, not
 * read from the annotation), so a shard edited by hand is put back.
 */

import { createHash } from 'node:crypto';
import type { V1ConfigMap } from '@kubernetes/client-node';
import {
  MANAGED_BY_LABEL,
  MANIFEST_DATA_KEY,
  OPERATOR_NAME,
  SHARD_DATA_KEY,
  SHARD_SHA256_ANNOTATION,
  SNAPSHOT_ENVIRONMENT_LABEL,
  SNAPSHOT_VERSION_ANNOTATION,
  snapshotManifestName,
  snapshotShardName,
} from '../../../gateway/src/kubernetes/names.ts';
import type { ShardManifest, SplitSnapshot } from '../../../gateway/src/snapshot/shards.ts';

export interface PublishPlan {
  /** Shard ConfigMaps to apply, before the manifest. */
  shards: V1ConfigMap[];
  /** The manifest ConfigMap, when it changed. */
  manifest: V1ConfigMap | undefined;
  /** Names of ConfigMaps of this environment to delete after the manifest. */
  stale: string[];
}

export function planPublish(
  environment: string,
  namespace: string,
  split: SplitSnapshot,
  existing: readonly V1ConfigMap[],
): PublishPlan {
  const byName = new Map(existing.map((configMap) => [configMap.metadata?.name ?? '', configMap]));
  const shards: V1ConfigMap[] = [];
  const wanted = new Set<string>([snapshotManifestName(environment)]);
  split.shards.forEach((text, index) => {
    const name = snapshotShardName(environment, index);
    wanted.add(name);
    const current = byName.get(name)?.data?.[SHARD_DATA_KEY];
    const sha256 = split.manifest.shards[index]?.sha256 ?? sha256Hex(text);
    if (current !== undefined && sha256Hex(current) === sha256) return;
    shards.push(shardConfigMap(environment, namespace, name, text, sha256));
  });
  const manifestText = JSON.stringify(split.manifest);
  const currentManifest = byName.get(snapshotManifestName(environment))?.data?.[MANIFEST_DATA_KEY];
  return {
    shards,
    manifest:
      currentManifest === manifestText
        ? undefined
        : manifestConfigMap(environment, namespace, split.manifest, manifestText),
    stale: [...byName.keys()].filter((name) => name !== '' && !wanted.has(name)).sort(),
  };
}

function labels(environment: string): Record<string, string> {
  return { [SNAPSHOT_ENVIRONMENT_LABEL]: environment, [MANAGED_BY_LABEL]: OPERATOR_NAME };
}

function shardConfigMap(
  environment: string,
  namespace: string,
  name: string,
  text: string,
  sha256: string,
): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name,
      namespace,
      labels: labels(environment),
      annotations: { [SHARD_SHA256_ANNOTATION]: sha256 },
    },
    data: { [SHARD_DATA_KEY]: text },
  };
}

function manifestConfigMap(
  environment: string,
  namespace: string,
  manifest: ShardManifest,
  text: string,
): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: snapshotManifestName(environment),
      namespace,
      labels: labels(environment),
      annotations: { [SNAPSHOT_VERSION_ANNOTATION]: manifest.version },
    },
    data: { [MANIFEST_DATA_KEY]: text },
  };
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
