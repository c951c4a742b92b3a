import type { V1ConfigMap } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  MANIFEST_DATA_KEY,
  SHARD_DATA_KEY,
  snapshotManifestName,
  snapshotShardName,
} from '../../../gateway/src/kubernetes/names.ts';
import {
  holdShardData,
  readSnapshot,
  readSnapshotInSlices,
} from '../../../gateway/src/kubernetes/read-snapshot.ts';
import type { Snapshot } from '../../../gateway/src/snapshot/schema.ts';
import { createShardReader, splitSnapshot } from '../../../gateway/src/snapshot/shards.ts';
import {
  apiFixture,
  credentialFixture,
  snapshotFixture,
  TEST_ENVIRONMENT,
} from '../../support/snapshot-fixtures.ts';

const design = apiFixture({ name: 'design', basePath: '/design' });

function platform(suspended: number): Snapshot {
  return snapshotFixture({
    apis: [design],
    credentials: Array.from({ length: 2000 }, (_, i) =>
      credentialFixture({
        name: `sub-${String(i).padStart(4, '0')}`,
        apiKeys: [`key-${i}`],
        suspended: i === suspended,
        grants: { [design.id]: { scopes: ['read'] } },
      }),
    ),
  });
}

/** The ConfigMaps the operator writes for a snapshot, as the informer lists them. */
function configMapsOf(snapshot: Snapshot): V1ConfigMap[] {
  const split = splitSnapshot(snapshot, 32 * 1024);
  return [
    {
      metadata: {
        name: snapshotManifestName(TEST_ENVIRONMENT),
        managedFields: [{ manager: 'apiway-operator', operation: 'Apply' }],
      },
      data: { [MANIFEST_DATA_KEY]: JSON.stringify(split.manifest) },
    },
    ...split.shards.map((shard, index) => ({
      metadata: {
        name: snapshotShardName(TEST_ENVIRONMENT, index),
        resourceVersion: String(index),
        managedFields: [{ manager: 'apiway-operator', operation: 'Apply' }],
      },
      data: { [SHARD_DATA_KEY]: shard },
    })),
  ];
}

describe('readSnapshot', () => {
  it('assembles the snapshot the ConfigMaps hold, with or without a reader', async () => {
    const snapshot = platform(-1);
    const configMaps = configMapsOf(snapshot);
    const plain = readSnapshot(TEST_ENVIRONMENT, configMaps);
    const sliced = await readSnapshotInSlices(TEST_ENVIRONMENT, configMaps, createShardReader());
    if (!plain.ok || !sliced.ok) throw new Error('not assembled');
    expect(plain.snapshot.credentials).toEqual(snapshot.credentials);
    expect(sliced.snapshot.version).toBe(snapshot.version);
    expect(new Set(sliced.snapshot.credentials.map((c) => c.id))).toEqual(
      new Set(snapshot.credentials.map((c) => c.id)),
    );
  });

  it('with a reader, parses again only the shards that changed', async () => {
    const reader = createShardReader();
    const first = await readSnapshotInSlices(TEST_ENVIRONMENT, configMapsOf(platform(-1)), reader);
    const second = await readSnapshotInSlices(TEST_ENVIRONMENT, configMapsOf(platform(7)), reader);
    if (!first.ok || !second.ok) throw new Error('not assembled');
    const before = new Map(first.snapshot.credentials.map((c) => [c.id, c]));
    const fresh = second.snapshot.credentials.filter((c) => before.get(c.id) !== c);
    expect(fresh.some((c) => c.suspended)).toBe(true);
    expect(fresh.length).toBeLessThan(second.snapshot.credentials.length / 4);
  });

  it('from the informer cache, keeps no shard text once read, and reads the next version', async () => {
    const reader = createShardReader();
    const firstMaps = configMapsOf(platform(-1));
    const cached = firstMaps.map(holdShardData);
    expect(cached.every((c) => c.data?.[SHARD_DATA_KEY] === undefined)).toBe(true);
    expect(cached.every((c) => c.metadata?.managedFields === undefined)).toBe(true);
    expect(cached[1]?.metadata?.resourceVersion).toBe('0');
    const first = await readSnapshotInSlices(TEST_ENVIRONMENT, cached, reader);
    if (!first.ok) throw new Error('not assembled');
    expect(cached.every((c) => c.shard === undefined || c.shard.text === undefined)).toBe(true);
    // The next version: the cache keeps the ConfigMaps that did not change as they are, and
    // holds the changed ones (and the manifest) anew.
    const nextMaps = configMapsOf(platform(7));
    const next = nextMaps.map((configMap, i) =>
      JSON.stringify(configMap.data) === JSON.stringify(firstMaps[i]?.data)
        ? (cached[i] as (typeof cached)[number])
        : holdShardData(configMap),
    );
    expect(next.filter((c, i) => c !== cached[i]).length).toBe(2);
    const second = await readSnapshotInSlices(TEST_ENVIRONMENT, next, reader);
    if (!second.ok) throw new Error('not assembled');
    expect(second.snapshot.version).toBe(platform(7).version);
    expect(second.snapshot.credentials.filter((c) => c.suspended)).toHaveLength(1);
    expect(second.snapshot.credentials).toHaveLength(2000);
  });

  it('says why when the manifest is missing', async () => {
    const result = await readSnapshotInSlices(TEST_ENVIRONMENT, [], createShardReader());
    expect(!result.ok && result.reason).toBe('ManifestMissing');
  });
});
