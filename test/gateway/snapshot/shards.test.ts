import { describe, expect, it } from 'vitest';
import {
  SNAPSHOT_FORMAT,
  type Snapshot,
  type SnapshotCredential,
} from '../../../gateway/src/snapshot/schema.ts';
import { assembleSnapshot, splitSnapshot } from '../../../gateway/src/snapshot/shards.ts';

function credential(i: number): SnapshotCredential {
  return {
    id: `acme/sub-${i}`,
    namespace: 'acme',
    name: `sub-${i}`,
    clientId: `client-${i}`,
    clientSecrets: [{ sha256: 'a'.repeat(64) }],
    apiKeys: [{ sha256: 'b'.repeat(64) }, { sha256: 'c'.repeat(64) }],
    suspended: false,
    clientCredentials: true,
    apiKey: true,
    grants: [{ apiId: 'platform/design-api', scopes: ['read:design'], rateLimit: [] }],
  };
}

function snapshotWith(credentials: number): Snapshot {
  return {
    format: SNAPSHOT_FORMAT,
    environment: 'alpha',
    version: `v${credentials}`,
    apis: [],
    // Sorted by id, as the compiler emits them.
    credentials: Array.from({ length: credentials }, (_, i) => credential(i)).sort((a, b) =>
      a.id < b.id ? -1 : 1,
    ),
    idps: [],
    objects: [],
  };
}

describe('snapshot shards', () => {
  it('round-trips a snapshot and keeps every shard under the limit', () => {
    const snapshot = snapshotWith(3000);
    const split = splitSnapshot(snapshot, 64 * 1024);
    expect(split.shards.length).toBeGreaterThan(1);
    for (const shard of split.shards)
      expect(Buffer.byteLength(shard)).toBeLessThanOrEqual(64 * 1024);
    const result = assembleSnapshot(split.manifest, new Map(split.shards.map((s, i) => [i, s])));
    expect(result.ok && result.snapshot.credentials).toEqual(snapshot.credentials);
  });

  it('rewrites exactly one shard when one Subscription changes', () => {
    const before = snapshotWith(3000);
    const after = structuredClone(before);
    (after.credentials[1234] as SnapshotCredential).suspended = true;
    const a = splitSnapshot(before, 64 * 1024);
    const b = splitSnapshot(after, 64 * 1024);
    expect(b.shards.length).toBe(a.shards.length);
    const changed = b.shards.filter((shard, i) => shard !== a.shards[i]);
    expect(changed).toHaveLength(1);
  });

  it('refuses a set of shards that does not match the manifest (half-written update)', () => {
    const a = splitSnapshot(snapshotWith(3000), 64 * 1024);
    const b = splitSnapshot(snapshotWith(3001), 64 * 1024);
    const mixed = new Map(a.shards.map((s, i) => [i, s]));
    const result = assembleSnapshot(b.manifest, mixed);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toBe('ShardMismatch');
    mixed.delete(0);
    const missing = assembleSnapshot(a.manifest, mixed);
    expect(!missing.ok && missing.reason).toBe('ShardMissing');
  });
});
