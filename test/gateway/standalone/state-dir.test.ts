import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateSigningKey } from '../../../gateway/src/oauth/keys.ts';
import {
  loadOrCreateSigningKeys,
  readStoredCredentials,
  writeStoredCredentials,
} from '../../../gateway/src/standalone/state-dir.ts';

let root: string;
let stateDir: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'apiway-state-'));
  stateDir = join(root, 'nested', 'state');
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('signing keys in the state dir', () => {
  it('are generated once (one active ES256 and one active RS256), then reused', async () => {
    const first = await loadOrCreateSigningKeys(stateDir, generateSigningKey);
    expect(first.generated).toEqual(['ES256', 'RS256']);
    expect(first.keys.keys.map((k) => `${k.alg}:${k.state}`)).toEqual([
      'ES256:active',
      'RS256:active',
    ]);

    const again = await loadOrCreateSigningKeys(stateDir, generateSigningKey);
    expect(again.generated).toEqual([]);
    expect(again.keys).toEqual(first.keys);

    const file = join(stateDir, 'signing-keys.json');
    expect(((await stat(file)).mode & 0o777).toString(8)).toBe('600');
    expect(((await stat(stateDir)).mode & 0o777).toString(8)).toBe('700');
  });

  it('refuses an unreadable file instead of replacing the keys, without quoting it', async () => {
    await loadOrCreateSigningKeys(stateDir, generateSigningKey);
    const file = join(stateDir, 'signing-keys.json');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.slice(0, 200));
    const error = await loadOrCreateSigningKeys(stateDir, generateSigningKey).catch(
      (e: Error) => e,
    );
    expect(String(error)).toContain('not valid JSON; fix or remove the file');
    expect(String(error)).not.toContain(text.slice(100, 150));
  });
});

describe('credentials in the state dir', () => {
  it('round-trip by Subscription key, owner-readable only', async () => {
    expect(await readStoredCredentials(stateDir)).toEqual(new Map());
    const stored = new Map([
      ['acme/b', { clientId: 'acme.b.00000000' }],
      ['acme/a', { clientId: 'acme.a.00000000' }],
    ]);
    await writeStoredCredentials(stateDir, stored);
    expect(await readStoredCredentials(stateDir)).toEqual(stored);
    expect(((await stat(join(stateDir, 'credentials.json'))).mode & 0o777).toString(8)).toBe('600');
  });
});
