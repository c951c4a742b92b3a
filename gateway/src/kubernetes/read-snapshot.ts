/**
 * The snapshot of one environment from its ConfigMaps, as the gateway's informer cache holds
 * them: the manifest `apiway-snapshot-<env>` names every shard by index and sha256, and the
 * snapshot is assembled only when every shard it names is present with exactly that content.
 * While the operator is midway through writing a new version (shards first, manifest last, or a
 * watch that delivered them in another order) the result is "not yet", and the gateway keeps
 * what it serves. Pure.
 */

import type { V1ConfigMap } from '@kubernetes/client-node';
import {
  type AssembleResult,
  assembleSnapshot,
  type ShardManifest,
  type ShardReader,
} from '../snapshot/shards.ts';
import {
  MANIFEST_DATA_KEY,
  SHARD_DATA_KEY,
  snapshotManifestName,
  snapshotShardName,
} from './names.ts';

export type ReadSnapshotResult =
  | AssembleResult
  | { ok: false; reason: 'ManifestMissing' | 'ManifestInvalid'; message: string };

export function readSnapshot(
  environment: string,
  configMaps: readonly V1ConfigMap[],
  reader?: ShardReader,
): ReadSnapshotResult {
  const found = findShards(environment, configMaps);
  if (!found.ok) return found;
  const { manifest, shards } = found;
  return reader ? reader.assemble(manifest, shards) : assembleSnapshot(manifest, shards);
}

/**
 * `readSnapshot` with a reader, parsing in slices that give the event loop back between them
 * (requests keep being served while a change to many shards is parsed).
 */
export async function readSnapshotInSlices(
  environment: string,
  configMaps: readonly V1ConfigMap[],
  reader: ShardReader,
): Promise<ReadSnapshotResult> {
  const found = findShards(environment, configMaps);
  if (!found.ok) return found;
  return reader.assembleInSlices(found.manifest, found.shards);
}

function findShards(
  environment: string,
  configMaps: readonly V1ConfigMap[],
):
  | { ok: true; manifest: ShardManifest; shards: Map<number, string> }
  | Exclude<ReadSnapshotResult, { ok: true }> {
  const byName = new Map(configMaps.map((configMap) => [configMap.metadata?.name, configMap]));
  const manifestName = snapshotManifestName(environment);
  const text = byName.get(manifestName)?.data?.[MANIFEST_DATA_KEY];
  if (text === undefined) {
    return {
      ok: false,
      reason: 'ManifestMissing',
      message: `ConfigMap ${manifestName} has no ${MANIFEST_DATA_KEY} yet`,
    };
  }
  let manifest: ShardManifest;
  try {
    manifest = JSON.parse(text) as ShardManifest;
  } catch {
    return {
      ok: false,
      reason: 'ManifestInvalid',
      message: `ConfigMap ${manifestName}: ${MANIFEST_DATA_KEY} is not JSON`,
    };
  }
  if (
    manifest === null ||
    typeof manifest !== 'object' ||
    typeof manifest.version !== 'string' ||
    !Array.isArray(manifest.shards)
  ) {
    return {
      ok: false,
      reason: 'ManifestInvalid',
      message: `ConfigMap ${manifestName}: ${MANIFEST_DATA_KEY} is not a snapshot manifest`,
    };
  }
  if (manifest.environment !== environment) {
    return {
      ok: false,
      reason: 'ManifestInvalid',
      message: `ConfigMap ${manifestName} describes environment ${JSON.stringify(manifest.environment)}, not ${environment}`,
    };
  }
  const shards = new Map<number, string>();
  for (const { index } of manifest.shards) {
    const shard = byName.get(snapshotShardName(environment, index))?.data?.[SHARD_DATA_KEY];
    if (shard !== undefined) shards.set(index, shard);
  }
  return { ok: true, manifest, shards };
}
