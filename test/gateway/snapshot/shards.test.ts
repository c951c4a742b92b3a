import { describe, expect, it } from 'vitest';
import {
  SNAPSHOT_FORMAT,
  type Snapshot,
  type SnapshotCredential,
} from '../../../gateway/src/snapshot/schema.ts';
import {
  assembleSnapshot,
  createShardReader,
  type HeldShard,
  holdShard,
  splitSnapshot,
} from '../../../gateway/src/snapshot/shards.ts';

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

describe('a shard reader (what a gateway reads versions with)', () => {
  /** Credentials of a Product: the same grant (rules included) in every one of them. */
  function productSnapshot(count: number, version = 'v1'): Snapshot {
    const snapshot = snapshotWith(count);
    const rateLimit = [
      { scope: 'api' as const, target: 'platform/design-api', requests: 100, periodSeconds: 1 },
      { scope: 'product' as const, target: 'platform/bundle', requests: 9, periodSeconds: 60 },
    ];
    for (const c of snapshot.credentials) {
      c.grants = [
        {
          apiId: 'platform/design-api',
          scopes: ['read:design'],
          productId: 'platform/bundle',
          rateLimit: structuredClone(rateLimit),
        },
      ];
    }
    return { ...snapshot, version };
  }

  /** The shards of a 3,000-Subscription snapshot, and of the next version with one Subscription suspended. */
  function oneSubscriptionChanged() {
    const before = productSnapshot(3000, 'v1');
    const after = structuredClone({ ...before, version: 'v2' });
    (after.credentials[1234] as SnapshotCredential).suspended = true;
    return { after, a: splitSnapshot(before, 64 * 1024), b: splitSnapshot(after, 64 * 1024) };
  }
  /** Shards as a gateway's cache holds them when they have just arrived. */
  const byIndex = (shards: string[]) => new Map(shards.map((s, i) => [i, holdShard(s)]));
  const byId = <T extends { id: string }>(items: T[]) =>
    new Map(items.map((item) => [item.id, item] as const));

  it('assembles what assembleSnapshot assembles (in shard order)', async () => {
    const split = splitSnapshot(productSnapshot(3000), 64 * 1024);
    const plain = assembleSnapshot(split.manifest, new Map(split.shards.map((s, i) => [i, s])));
    const read = createShardReader().assemble(split.manifest, byIndex(split.shards));
    const sliced = await createShardReader().assembleInSlices(
      split.manifest,
      byIndex(split.shards),
      0,
    );
    if (!plain.ok || !read.ok || !sliced.ok) throw new Error('not assembled');
    for (const result of [read.snapshot, sliced.snapshot]) {
      expect(result.version).toBe(plain.snapshot.version);
      expect(byId(result.credentials)).toEqual(byId(plain.snapshot.credentials));
    }
  });

  it('after a one-Subscription change, hands over the untouched items as the same objects', () => {
    const { after, a, b } = oneSubscriptionChanged();
    const reader = createShardReader();
    const first = reader.assemble(a.manifest, byIndex(a.shards));
    const second = reader.assemble(b.manifest, byIndex(b.shards));
    if (!first.ok || !second.ok) throw new Error('not assembled');
    const old = byId(first.snapshot.credentials);
    const changedId = (after.credentials[1234] as SnapshotCredential).id;
    let reused = 0;
    for (const credential of second.snapshot.credentials) {
      if (old.get(credential.id) === credential) reused++;
    }
    // Only the changed shard was parsed again: everything else is the very same object.
    const changedShardSize = second.snapshot.credentials.length - reused;
    expect(changedShardSize).toBeGreaterThan(0);
    expect(changedShardSize).toBeLessThan(3000 / 4);
    expect(byId(second.snapshot.credentials).get(changedId)?.suspended).toBe(true);
    expect(old.get(changedId)?.suspended).toBe(false);
  });

  it('shares one object between equal grants, without changing any value', () => {
    const snapshot = productSnapshot(3000);
    const split = splitSnapshot(snapshot, 64 * 1024);
    const read = createShardReader().assemble(split.manifest, byIndex(split.shards));
    if (!read.ok) throw new Error('not assembled');
    const grants = new Set(read.snapshot.credentials.map((c) => c.grants[0]));
    expect(grants.size).toBe(1);
    expect([...grants][0]).toEqual(snapshot.credentials[0]?.grants[0]);
  });

  it('keeps the last complete version when the next one is half-written', () => {
    const a = splitSnapshot(productSnapshot(3000, 'v1'), 64 * 1024);
    const b = splitSnapshot(productSnapshot(3001, 'v2'), 64 * 1024);
    const reader = createShardReader();
    const first = reader.assemble(a.manifest, byIndex(a.shards));
    const mixed = reader.assemble(b.manifest, byIndex(a.shards));
    expect(!mixed.ok && mixed.reason).toBe('ShardMismatch');
    const again = reader.assemble(a.manifest, byIndex(a.shards));
    if (!first.ok || !again.ok) throw new Error('not assembled');
    expect(again.snapshot.credentials[0]).toBe(first.snapshot.credentials[0]);
  });

  it('keeps no shard text once parsed, and assembles again from what it kept', () => {
    const { after, a, b } = oneSubscriptionChanged();
    const reader = createShardReader();
    const held = byIndex(a.shards);
    const first = reader.assemble(a.manifest, held);
    if (!first.ok) throw new Error('not assembled');
    for (const shard of held.values()) {
      expect(shard.text).toBeUndefined();
      expect(shard.content).toBeDefined();
    }
    // The next version, as a cache holds it: the unchanged shards as they were (no text), the
    // changed one arriving anew.
    const next = new Map<number, HeldShard>(
      b.shards.map((text, i) => [
        i,
        text === a.shards[i] ? (held.get(i) as HeldShard) : holdShard(text),
      ]),
    );
    const second = reader.assemble(b.manifest, next);
    if (!second.ok) throw new Error('not assembled');
    const changedId = (after.credentials[1234] as SnapshotCredential).id;
    expect(byId(second.snapshot.credentials).get(changedId)?.suspended).toBe(true);
    expect(byId(second.snapshot.credentials)).toEqual(byId(after.credentials));
  });

  it('keeps a shard written ahead of its manifest, and what it parsed of a half-written version', () => {
    const a = splitSnapshot(productSnapshot(3000, 'v1'), 64 * 1024);
    const v2 = productSnapshot(3000, 'v2');
    for (let i = 0; i < 3000; i += 300) (v2.credentials[i] as SnapshotCredential).suspended = true;
    const b = splitSnapshot(v2, 64 * 1024);
    const changed = b.shards.flatMap((text, i) => (text === a.shards[i] ? [] : [i]));
    expect(changed.length).toBeGreaterThan(2);
    const reader = createShardReader();
    const held = byIndex(a.shards);
    expect(reader.assemble(a.manifest, held).ok).toBe(true);
    // The operator wrote the first changed shard of v2; the manifest still names v1.
    const [early, ...rest] = changed as [number, ...number[]];
    held.set(early, holdShard(b.shards[early] as string));
    expect(!reader.assemble(a.manifest, held).ok).toBe(true);
    expect(held.get(early)?.text).toBe(b.shards[early]);
    // The v2 manifest, with one shard still missing: not yet; what matched is parsed and kept.
    const last = rest.pop() as number;
    for (const index of rest) held.set(index, holdShard(b.shards[index] as string));
    const half = reader.assemble(b.manifest, held);
    expect(!half.ok && half.reason).toBe('ShardMismatch');
    // The last shard arrives: v2 is complete, from shards of which only that one has its text.
    held.set(last, holdShard(b.shards[last] as string));
    const done = reader.assemble(b.manifest, held);
    if (!done.ok) throw new Error('not assembled');
    expect(done.snapshot.version).toBe('v2');
    expect(byId(done.snapshot.credentials)).toEqual(byId(v2.credentials));
    expect([...held.values()].every((shard) => shard.text === undefined)).toBe(true);
  });
});
