// The example manifests under test/crds/{valid,invalid}, shared by the standalone validator's
// unit test and the API server integration test: both must reject and accept the same files.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const crdDir = join(repoRoot, 'crds');
export const validDir = join(import.meta.dirname, 'valid');
export const invalidDir = join(import.meta.dirname, 'invalid');

export interface Manifest {
  /** File name, e.g. `02-api-basepath-no-leading-slash.yaml`. */
  file: string;
  path: string;
  /** The objects in the file, in order. */
  objects: Record<string, unknown>[];
  /** Substrings the rejection must contain, from its `# expect: ...` lines. */
  expect: string[];
}

export function readManifests(dir: string): Manifest[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.yaml'))
    .sort()
    .map((file) => {
      const path = join(dir, file);
      const text = readFileSync(path, 'utf8');
      return {
        file,
        path,
        objects: parseAllDocuments(text).map((doc) => doc.toJS() as Record<string, unknown>),
        expect: [...text.matchAll(/^# expect: (.+)$/gm)].map((m) => (m[1] ?? '').trim()),
      };
    });
}
