import type { V1ConfigMap } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { readSnapshot } from '../../../gateway/src/kubernetes/read-snapshot.ts';
import {
  SNAPSHOT_FORMAT,
  type Snapshot,
  type SnapshotCredential,
} from '../../../gateway/src/snapshot/schema.ts';
import { splitSnapshot } from '../../../gateway/src/snapshot/shards.ts';
import { planPublish } from '../../../operator/src/snapshot/publish-plan.ts';

function credential(i: number, suspended = false): SnapshotCredential {
  return {
    id: `acme/sub-${i}`,
    namespace: 'acme',
    name: `sub-${i}`,
    clientId: `client-${i}-${'x'.repeat(200)}`,
    clientSecrets: [],
    apiKeys: [],
    suspended,
    clientCredentials: true,
    apiKey: false,
    grants: [],
  };
}
function snapshot(credentials: SnapshotCredential[], version: string): Snapshot {
  return {
    format: SNAPSHOT_FORMAT,
    environment: 'alpha',
    version,
    apis: [],
    credentials,
    idps: [],
    objects: [],
  };
}
/** What the API server would hold after applying a plan on top of `existing`. */
function applied(existing: V1ConfigMap[], plan: ReturnType<typeof planPublish>): V1ConfigMap[] {
  const byName = new Map(existing.map((cm) => [cm.metadata?.name, cm]));
  for (const cm of [...plan.shards, ...(plan.manifest ? [plan.manifest] : [])])
    byName.set(cm.metadata?.name, cm);
  for (const name of plan.stale) byName.delete(name);
  return [...byName.values()] as V1ConfigMap[];
}

describe('publishing a snapshot as ConfigMaps', () => {
  const many = Array.from({ length: 400 }, (_, i) => credential(i));
  const first = splitSnapshot(snapshot(many, 'v1'), 16 * 1024);

  it('writes every shard and the manifest the first time, and a reader assembles exactly that version', () => {
    const plan = planPublish('alpha', 'apiway-system', first, []);
    expect(plan.shards.length).toBe(first.shards.length);
    expect(plan.manifest?.metadata?.name).toBe('apiway-snapshot-alpha');
    expect(
      plan.shards.every(
        (cm) => cm.metadata?.labels?.['apiway.net/snapshot-environment'] === 'alpha',
      ),
    ).toBe(true);
    const read = readSnapshot('alpha', applied([], plan));
    expect(read.ok && read.snapshot.credentials.length).toBe(400);
  });

  it('rewrites only the shard of the one Subscription that changed', () => {
    const existing = applied([], planPublish('alpha', 'apiway-system', first, []));
    const changed = splitSnapshot(
      snapshot(
        many.map((c, i) => (i === 7 ? credential(7, true) : c)),
        'v2',
      ),
      16 * 1024,
    );
    expect(changed.shards.length).toBe(first.shards.length);
    const plan = planPublish('alpha', 'apiway-system', changed, existing);
    expect(plan.shards).toHaveLength(1);
    expect(plan.manifest).toBeDefined();
    expect(plan.stale).toEqual([]);
    // Shards first: with only the new shard written the reader still sees v1's manifest, whose
    // shard no longer matches, so it keeps what it has; with the manifest it gets v2.
    const halfway = applied(existing, { ...plan, manifest: undefined });
    expect(readSnapshot('alpha', halfway).ok).toBe(false);
    const done = readSnapshot('alpha', applied(existing, plan));
    expect(done.ok && done.snapshot.credentials.find((c) => c.id === 'acme/sub-7')?.suspended).toBe(
      true,
    );
  });

  it('writes nothing when nothing changed, and removes shards a smaller snapshot no longer names', () => {
    const existing = applied([], planPublish('alpha', 'apiway-system', first, []));
    expect(planPublish('alpha', 'apiway-system', first, existing)).toEqual({
      shards: [],
      manifest: undefined,
      stale: [],
    });
    const small = splitSnapshot(snapshot(many.slice(0, 2), 'v3'), 16 * 1024);
    const plan = planPublish('alpha', 'apiway-system', small, existing);
    expect(plan.stale.length).toBe(first.shards.length - small.shards.length);
    expect(readSnapshot('alpha', applied(existing, plan))).toMatchObject({ ok: true });
  });

  it('puts back a shard someone edited', () => {
    const existing = applied([], planPublish('alpha', 'apiway-system', first, []));
    const tampered = existing.map((cm) =>
      cm.metadata?.name === 'apiway-snapshot-alpha.shard-0'
        ? { ...cm, data: { 'shard.json': '{}' } }
        : cm,
    );
    expect(readSnapshot('alpha', tampered)).toMatchObject({ ok: false, reason: 'ShardMismatch' });
    const plan = planPublish('alpha', 'apiway-system', first, tampered);
    expect(plan.shards.map((cm) => cm.metadata?.name)).toEqual(['apiway-snapshot-alpha.shard-0']);
  });
});
