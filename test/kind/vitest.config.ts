import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Only for `npm run e2e:kind` (test/kind/run.sh), which sets the APIWAY_KIND_* variables the
// test file reads. Its file name (*.kind-test.ts) keeps it out of every project of `npm test`.
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['test/kind/*.kind-test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
