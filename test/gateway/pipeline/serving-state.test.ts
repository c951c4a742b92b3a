import { describe, expect, it } from 'vitest';
import { prepareApis, prepareApisInSlices } from '../../../gateway/src/pipeline/serving-state.ts';
import { loadSnapshot } from '../../../gateway/src/snapshot/loaded.ts';
import type { SnapshotApi } from '../../../gateway/src/snapshot/schema.ts';
import { apiFixture, operation, path, snapshotFixture } from '../../support/snapshot-fixtures.ts';

const open = operation([]);
const design = apiFixture({
  name: 'design',
  basePath: '/design',
  backendUrl: 'http://design.svc:8080/base',
  paths: [path('/designs/{id}', { GET: open })],
});
const billing = apiFixture({
  name: 'billing',
  basePath: '/billing',
  paths: [path('/invoices', { GET: open })],
});
const loadedWith = (...apis: SnapshotApi[]) => loadSnapshot(snapshotFixture({ apis }));

describe('prepareApis on a reload', () => {
  it('reuses an unchanged Api (same object or same content) and rebuilds a changed one', async () => {
    const first = prepareApis(loadedWith(design, billing));
    const changedBilling = { ...billing, paths: [path('/invoices/{number}', { GET: open })] };
    const second = await prepareApisInSlices(
      loadedWith(structuredClone(design), changedBilling),
      first,
      0,
    );

    const reused = second.get(design.id);
    expect(reused?.matcher).toBe(first.get(design.id)?.matcher);
    // Rebound to the new snapshot's object, and still correct.
    expect(reused?.api).not.toBe(design);
    expect(reused?.api).toEqual(design);
    expect(reused?.matcher.match('/designs/42', 'GET').params).toEqual({ id: '42' });
    expect(reused?.backendUrl.pathname).toBe('/base');

    const rebuilt = second.get(billing.id);
    expect(rebuilt?.matcher).not.toBe(first.get(billing.id)?.matcher);
    expect(rebuilt?.matcher.match('/invoices/7', 'GET').template).toBe('/invoices/{number}');
    expect(() => rebuilt?.matcher.match('/invoices', 'GET')).toThrow(
      expect.objectContaining({ code: 'not_found' }),
    );
  });

  it('keeps the very same prepared Api when the snapshot hands over the same object', () => {
    const loaded = loadedWith(design, billing);
    const first = prepareApis(loaded);
    const second = prepareApis(loadedWith(design, billing), first);
    expect(second.get(design.id)).toBe(first.get(design.id));
  });

  it('still refuses an Api it cannot serve', () => {
    const ftp = { ...design, backend: { url: 'ftp://design.svc', timeoutMs: 1000 } };
    expect(() => prepareApis(loadedWith(ftp), prepareApis(loadedWith(design)))).toThrow(/http/);
  });
});
