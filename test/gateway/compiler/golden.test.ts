/**
 * Golden cases: `test/golden/<case>/in.yaml` (resources) → `out.yaml` (snapshot + results).
 * The expected files are assertions, reviewed by eye. Regenerate after an intended change with
 *   UPDATE_GOLDEN=1 npx vitest run test/gateway/compiler/golden.test.ts
 * and review the diff before committing it.
 */

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { snapshotVersion } from '../../../gateway/src/compiler/canonical-json.ts';
import { compileSnapshot } from '../../../gateway/src/compiler/compile-snapshot.ts';
import { readGoldenCase } from './golden-case.ts';

const GOLDEN = join(import.meta.dirname, '../../golden');
const cases = readdirSync(GOLDEN, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

describe('compileSnapshot golden cases', () => {
  it('has cases', () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  for (const name of cases) {
    it(name, async () => {
      const dir = join(GOLDEN, name);
      const { input, plaintexts } = await readGoldenCase(
        readFileSync(join(dir, 'in.yaml'), 'utf8'),
      );
      const output = compileSnapshot(input);
      const actual = stringify(output, { lineWidth: 0, aliasDuplicateObjects: false });

      const expectedFile = join(dir, 'out.yaml');
      if (process.env.UPDATE_GOLDEN === '1') writeFileSync(expectedFile, actual);
      expect(
        existsSync(expectedFile),
        `${expectedFile} is missing: run with UPDATE_GOLDEN=1 and review it`,
      ).toBe(true);
      expect(parse(actual)).toEqual(parse(readFileSync(expectedFile, 'utf8')));
      expectPlainTree(output);

      // The snapshot is readable by every gateway: no credential value may appear in it.
      const serialized = JSON.stringify(output.snapshot);
      for (const plaintext of plaintexts) expect(serialized).not.toContain(plaintext);
      expect(output.snapshot.version).toBe(snapshotVersion(output.snapshot));

      // Deterministic whatever the order the objects come in.
      const reversed = compileSnapshot({
        ...input,
        apis: [...input.apis].reverse(),
        products: [...input.products].reverse(),
        subscriptions: [...input.subscriptions].reverse(),
        idpAssociations: [...input.idpAssociations].reverse(),
        secrets: [...input.secrets].reverse(),
      });
      expect(JSON.stringify(reversed)).toBe(JSON.stringify(output));
    });
  }
});

/** No object shared between two places of the output: a consumer may index or mutate it freely. */
function expectPlainTree(root: unknown): void {
  const seen = new Set<object>();
  const visit = (value: unknown, at: string) => {
    if (value === null || typeof value !== 'object') return;
    expect(seen.has(value), `object shared at ${at}`).toBe(false);
    seen.add(value);
    for (const [key, child] of Object.entries(value)) visit(child, `${at}.${key}`);
  };
  visit(root, '$');
}
