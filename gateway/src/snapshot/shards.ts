/**
 * Splitting a snapshot into ConfigMap-sized shards, and putting it back together.
 *
 * Every Api, credential and IdP lands in the shard chosen by a hash of its id, so a change to
 * one Subscription rewrites exactly one shard. The shard count is a power of two chosen from the
 * total size, leaving room to grow before it must change (a change of count rewrites all). The
 * manifest names each shard with the sha256 of its content: a reader swaps only once every shard
 * it names is present with that content, so a half-written update is never served.
 *
 * `snapshot.objects` (what the operator needs for `Ready`) is not shipped to gateways: a gateway
 * reports the version it loaded, and the operator knows what that version contains.
 */

import { createHash } from 'node:crypto';
import {
  SNAPSHOT_FORMAT,
  type Snapshot,
  type SnapshotApi,
  type SnapshotCredential,
  type SnapshotIdp,
} from './schema.ts';

export const MAX_SHARD_BYTES = 256 * 1024;

export interface ShardManifest {
  format: typeof SNAPSHOT_FORMAT;
  environment: string;
  version: string;
  shards: Array<{ index: number; sha256: string }>;
}

export interface ShardContent {
  apis: SnapshotApi[];
  credentials: SnapshotCredential[];
  idps: SnapshotIdp[];
}

export interface SplitSnapshot {
  manifest: ShardManifest;
  /** Serialized shard documents, by index. */
  shards: string[];
}

export function splitSnapshot(snapshot: Snapshot, maxShardBytes = MAX_SHARD_BYTES): SplitSnapshot {
  const items = [
    ...snapshot.apis.map((item) => ({
      kind: 'apis' as const,
      id: item.id,
      item,
      json: JSON.stringify(item),
    })),
    ...snapshot.credentials.map((item) => ({
      kind: 'credentials' as const,
      id: item.id,
      item,
      json: JSON.stringify(item),
    })),
    ...snapshot.idps.map((item) => ({
      kind: 'idps' as const,
      id: item.id,
      item,
      json: JSON.stringify(item),
    })),
  ];
  const largest = Math.max(0, ...items.map((entry) => entry.json.length));
  if (largest + 64 > maxShardBytes) {
    throw new Error(
      `one snapshot item is ${largest} bytes, more than a shard holds (${maxShardBytes})`,
    );
  }
  const total = items.reduce((sum, entry) => sum + entry.json.length + 1, 0);
  // Aim for half-full shards so that growth rarely changes the count.
  let count = 1;
  while (count * (maxShardBytes / 2) < total) count *= 2;

  for (;;) {
    const buckets: ShardContent[] = Array.from({ length: count }, () => ({
      apis: [],
      credentials: [],
      idps: [],
    }));
    for (const entry of items) {
      const bucket = buckets[bucketOf(`${entry.kind}/${entry.id}`, count)] as ShardContent;
      (bucket[entry.kind] as unknown[]).push(entry.item);
    }
    const shards = buckets.map((bucket) => JSON.stringify(bucket));
    if (shards.every((shard) => Buffer.byteLength(shard) <= maxShardBytes)) {
      return {
        manifest: {
          format: SNAPSHOT_FORMAT,
          environment: snapshot.environment,
          version: snapshot.version,
          shards: shards.map((shard, index) => ({ index, sha256: sha256(shard) })),
        },
        shards,
      };
    }
    count *= 2; // an unlucky hash spread: spread thinner
  }
}

export type AssembleResult =
  | { ok: true; snapshot: Snapshot }
  | { ok: false; reason: 'ShardMissing' | 'ShardMismatch' | 'FormatUnsupported'; message: string };

/** Rebuilds the snapshot from a manifest and the shard documents found, by index. */
export function assembleSnapshot(
  manifest: ShardManifest,
  shards: ReadonlyMap<number, string>,
): AssembleResult {
  if (manifest.format !== SNAPSHOT_FORMAT) {
    return {
      ok: false,
      reason: 'FormatUnsupported',
      message: `snapshot format ${manifest.format} is not ${SNAPSHOT_FORMAT}`,
    };
  }
  const snapshot: Snapshot = {
    format: SNAPSHOT_FORMAT,
    environment: manifest.environment,
    version: manifest.version,
    apis: [],
    credentials: [],
    idps: [],
    objects: [],
  };
  for (const { index, sha256: expected } of manifest.shards) {
    const text = shards.get(index);
    if (text === undefined) {
      return {
        ok: false,
        reason: 'ShardMissing',
        message: `shard ${index} of version ${manifest.version} is missing`,
      };
    }
    if (sha256(text) !== expected) {
      return {
        ok: false,
        reason: 'ShardMismatch',
        message: `shard ${index} does not match version ${manifest.version}`,
      };
    }
    const content = JSON.parse(text) as ShardContent;
    snapshot.apis.push(...content.apis);
    snapshot.credentials.push(...content.credentials);
    snapshot.idps.push(...content.idps);
  }
  const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  snapshot.apis.sort(byId);
  snapshot.credentials.sort(byId);
  snapshot.idps.sort(byId);
  return { ok: true, snapshot };
}

function bucketOf(key: string, count: number): number {
  return createHash('sha256').update(key).digest().readUInt32BE(0) % count;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
