/**
 * `apiway-gateway` as a person meets it: its flags and exit codes, the bin shim, and the
 * examples `npm start` serves (every object accepted, nothing reported).
 */

import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGatewayProcess } from '../../support/gateway-process.ts';

const MAIN = fileURLToPath(new URL('../../../gateway/src/main.ts', import.meta.url));
const BIN = fileURLToPath(new URL('../../../gateway/bin/apiway-gateway.js', import.meta.url));
const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));

function run(args: string[], script = MAIN) {
  const result = spawnSync(process.execPath, [script, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('the command line', () => {
  it('prints its usage with --help and exits 0', () => {
    const result = run(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('--config-dir DIR');
  });

  it('exits 2 with the reason and the usage on a bad flag or value', () => {
    for (const args of [
      ['--config-dir', 'x', '--bogus'],
      ['--config-dir', 'x', '--port', 'eighty'],
      ['--config-dir', 'x', '--public-url', 'not a url'],
      ['--port', '8080'],
    ]) {
      const result = run(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/^apiway-gateway: .+\n\nUsage:/);
    }
  });

  it('exits 1 naming the problem when the config dir does not exist', async () => {
    const state = await mkdtemp(join(tmpdir(), 'apiway-state-'));
    try {
      const result = run([
        '--config-dir',
        join(state, 'missing'),
        '--state-dir',
        state,
        '--port',
        '0',
        '--admin-port',
        '0',
      ]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('cannot start from');
    } finally {
      await rm(state, { recursive: true, force: true });
    }
  });

  it('runs through the bin shim', () => {
    const result = run(['--help'], BIN);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage:');
  });
});

describe('the examples', () => {
  let state: string;
  let gateway: GatewayProcess;

  beforeAll(async () => {
    state = await mkdtemp(join(tmpdir(), 'apiway-examples-'));
    gateway = await startGatewayProcess({ configDir: EXAMPLES, stateDir: state });
  });

  afterAll(async () => {
    await gateway?.stop();
    await rm(state, { recursive: true, force: true });
  });

  it('load without a single problem: every object accepted', () => {
    const problems = gateway.logs().filter((line) => Number(line.level) >= 40);
    expect(problems).toEqual([]);
    const banner = gateway.stdout();
    expect(banner).toContain('/design-api/v1           ->  http://127.0.0.1:18081');
    expect(banner).toContain('/recommendations-api/v1  ->  http://127.0.0.1:18082');
    for (const id of ['acme/acme-platform', 'acme/acme-studio', 'acme/acme-narrow']) {
      expect(banner).toContain(`  ${id}\n`);
    }
    expect(banner).not.toContain('Not accepted');
  });

  it('serve the JWKS and the metadata the README shows', async () => {
    const jwks = (await (await fetch(`${gateway.url}/.well-known/jwks`)).json()) as {
      keys: Array<{ alg: string }>;
    };
    expect(jwks.keys.map((key) => key.alg).sort()).toEqual(['ES256', 'RS256']);
    const metadata = await fetch(
      `${gateway.url}/.well-known/oauth-authorization-server/design-api/v1`,
    );
    expect(await metadata.json()).toMatchObject({ issuer: `${gateway.url}/design-api/v1` });
  });
});
