import { describe, expect, it } from 'vitest';
import {
  loadSnapshot,
  loadSnapshotInSlices,
  sha256Hex,
} from '../../../gateway/src/snapshot/loaded.ts';
import type { SnapshotGrant } from '../../../gateway/src/snapshot/schema.ts';
import { apiFixture, credentialFixture, snapshotFixture } from '../../support/snapshot-fixtures.ts';

const design = apiFixture({ name: 'design', basePath: '/design/v1' });
const nested = apiFixture({ name: 'design-admin', basePath: '/design/v1/admin' });

function platform(credentials: number) {
  return snapshotFixture({
    apis: [design, nested],
    credentials: Array.from({ length: credentials }, (_, i) =>
      credentialFixture({
        name: `sub-${i}`,
        apiKeys: [`key-${i}-a`, { value: `key-${i}-b`, expiresAt: '2040-01-01T00:00:00Z' }],
        grants: { [design.id]: { scopes: ['read'] } },
      }),
    ),
  });
}

describe('loadSnapshot and loadSnapshotInSlices', () => {
  it('index the same way, the sliced one letting the event loop run between slices', async () => {
    const snapshot = platform(5000);
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 0);
    const sliced = await loadSnapshotInSlices(snapshot, 0);
    clearInterval(ticker);
    expect(ticks).toBeGreaterThan(0);
    for (const loaded of [loadSnapshot(snapshot), sliced]) {
      expect(loaded.credentialsByClientId.get('client-sub-4321')?.id).toBe('acme/sub-4321');
      const match = loaded.findApiKey('key-4321-b');
      expect(match?.credential.id).toBe('acme/sub-4321');
      expect(match?.key).toEqual({
        sha256: sha256Hex('key-4321-b'),
        expiresAt: '2040-01-01T00:00:00Z',
      });
      expect(loaded.findApiKey('key-4321-c')).toBeUndefined();
      expect(loaded.findApi('/design/v1/admin/x')?.api.id).toBe(nested.id);
      expect(loaded.findApi('/design/v1/items')).toEqual({ api: design, rest: '/items' });
    }
  });

  it("finds a credential's grant on an Api, in short and long grant lists alike", () => {
    const many: Record<string, { scopes: string[] }> = {};
    for (let i = 0; i < 40; i++)
      many[`platform/api-${String(i).padStart(2, '0')}`] = { scopes: [`s${i}`] };
    const snapshot = snapshotFixture({
      apis: [design],
      credentials: [
        credentialFixture({ name: 'short', grants: { [design.id]: { scopes: ['read'] } } }),
        credentialFixture({ name: 'long', grants: many }),
      ],
    });
    const loaded = loadSnapshot(snapshot);
    const short = loaded.credentialsByClientId.get('client-short');
    const long = loaded.credentialsByClientId.get('client-long');
    if (!short || !long) throw new Error('fixture');
    expect(loaded.grantOf(short, design.id)?.scopes).toEqual(['read']);
    expect(loaded.grantOf(short, 'platform/other')).toBeUndefined();
    expect((loaded.grantOf(long, 'platform/api-37') as SnapshotGrant).scopes).toEqual(['s37']);
    expect(loaded.grantOf(long, design.id)).toBeUndefined();
  });
});
