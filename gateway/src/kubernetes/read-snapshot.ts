/**
 * The snapshot of one environment from its ConfigMaps, as the gateway's informer cache holds
 * them: the manifest `apiway-snapshot-<env>` names every shard by index and sha256, and the
 * snapshot is assembled only when every shard it names is present with exactly that content.
 * While the operator is midway through writing a new version (shards first, manifest last, or a
 * watch that delivered them in another order) the result is "not yet", and the gateway keeps
 * what it serves. Pure, but for the held shards a reader fills in (shards.ts `HeldShard`).
 *
 * The informer caches each shard ConfigMap through `holdShardData`: its text moves from `data`
 * to a HeldShard, which drops it once parsed, so the cache does not keep a second copy of the
 * snapshot as JSON.
 */

import type { V1ConfigMap } from '@kubernetes/client-node';
import {
  type AssembleResult,
  assembleSnapshot,
  type HeldShard,
  holdShard,
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

/** A snapshot ConfigMap as the gateway's informer caches it: a shard's text is in `shard`, not `data`. */
export type CachedConfigMap = V1ConfigMap & { shard?: HeldShard };

/**
 * The ConfigMap informer's transform (applied before anything is cached): a shard's text moves
 * out of `data` into a HeldShard, and `managedFields` (nobody here reads them) are left out. The
 * watch delivers a new object for every new version of a ConfigMap, hence a new HeldShard; one
 * whose resourceVersion did not change is never handed over again, so it keeps what was parsed.
 */
export function holdShardData(configMap: V1ConfigMap): CachedConfigMap {
  const { managedFields: _managedFields, ...metadata } = configMap.metadata ?? {};
  const { [SHARD_DATA_KEY]: text, ...data } = configMap.data ?? {};
  if (text === undefined) return { ...configMap, metadata };
  return { ...configMap, metadata, data, shard: holdShard(text) };
}

/** From ConfigMaps as the API returns them (not through `holdShardData`), in one go. */
export function readSnapshot(
  environment: string,
  configMaps: readonly V1ConfigMap[],
): ReadSnapshotResult {
  const found = findShards(environment, configMaps);
  if (!found.ok) return found;
  const { manifest, shards } = found;
  const texts = new Map<number, string>();
  for (const [index, configMap] of shards) {
    const text = configMap.data?.[SHARD_DATA_KEY];
    if (text !== undefined) texts.set(index, text);
  }
  return assembleSnapshot(manifest, texts);
}

/**
 * `readSnapshot` through a reader (a shard parsed once, by content), from ConfigMaps as the
 * informer caches them (`holdShardData`; ConfigMaps as the API returns them are read too, but
 * their text is hashed again on each call), parsing in slices that give the event loop back
 * between them (requests keep being served while a change to many shards is parsed).
 */
export async function readSnapshotInSlices(
  environment: string,
  configMaps: readonly CachedConfigMap[],
  reader: ShardReader,
): Promise<ReadSnapshotResult> {
  const found = findShards(environment, configMaps);
  if (!found.ok) return found;
  return reader.assembleInSlices(found.manifest, heldShards(found.shards));
}

function heldShards(configMaps: ReadonlyMap<number, CachedConfigMap>): Map<number, HeldShard> {
  const held = new Map<number, HeldShard>();
  for (const [index, configMap] of configMaps) {
    const text = configMap.data?.[SHARD_DATA_KEY];
    const shard = configMap.shard ?? (text === undefined ? undefined : holdShard(text));
    if (shard) held.set(index, shard);
  }
  return held;
}

/** The manifest, and the ConfigMap of each shard it names that exists, by index. */
function findShards<C extends CachedConfigMap>(
  environment: string,
  configMaps: readonly C[],
):
  | { ok: true; manifest: ShardManifest; shards: Map<number, C> }
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
  const shards = new Map<number, C>();
  for (const { index } of manifest.shards) {
    const shard = byName.get(snapshotShardName(environment, index));
    if (shard !== undefined) shards.set(index, shard);
  }
  return { ok: true, manifest, shards };
}
