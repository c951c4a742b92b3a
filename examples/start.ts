/**
 * `npm start`: the demo backends of the examples, then the standalone gateway serving
 * `examples/` in front of them (a child process, so it runs exactly as `apiway-gateway` would).
 * Extra arguments go to the gateway: `npm start -- --port 8081 --log-level debug`.
 */

import { spawn } from 'node:child_process';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createDesignBackend } from './backends/design.ts';
import { createRecommendationsBackend } from './backends/recommendations.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The ports the Apis' `backend.url` name (examples/*-api.yaml). */
const backends: Array<{ name: string; port: number; server: Server }> = [
  { name: 'design', port: 18081, server: createDesignBackend() },
  { name: 'recommendations', port: 18082, server: createRecommendationsBackend() },
];

for (const backend of backends) {
  try {
    await new Promise<void>((resolve, reject) => {
      backend.server.once('error', reject);
      backend.server.listen(backend.port, '127.0.0.1', () => resolve());
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    console.error(
      `cannot start the demo ${backend.name} backend on 127.0.0.1:${backend.port} (${code}):` +
        ' is another `npm start` running?',
    );
    process.exit(1);
  }
  console.log(`demo ${backend.name} backend on http://127.0.0.1:${backend.port}`);
}

const gateway = spawn(
  process.execPath,
  [
    fileURLToPath(new URL('../gateway/src/main.ts', import.meta.url)),
    '--config-dir',
    fileURLToPath(new URL('.', import.meta.url)),
    '--state-dir',
    `${root}.apiway/state`,
    ...process.argv.slice(2),
  ],
  { stdio: 'inherit' },
);

// One forward per signal: the gateway drains in-flight requests, then exits, and so do we.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (gateway.exitCode === null) gateway.kill(signal);
  });
}

gateway.on('exit', (code, signal) => {
  for (const backend of backends) {
    backend.server.close();
    backend.server.closeAllConnections();
  }
  process.exitCode = code ?? (signal ? 1 : 0);
});
