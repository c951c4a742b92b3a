import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type StandaloneSource,
  type StandaloneUpdate,
  startStandaloneSource,
} from '../../../gateway/src/standalone/source.ts';

const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));
const CRDS = fileURLToPath(new URL('../../../crds/', import.meta.url));

let root: string;
let configDir: string;
let source: StandaloneSource | undefined;
let updates: StandaloneUpdate[];
let logged: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'apiway-source-'));
  configDir = join(root, 'config');
  await cp(EXAMPLES, configDir, { recursive: true });
  updates = [];
  logged = '';
});

afterEach(async () => {
  await source?.close();
  await rm(root, { recursive: true, force: true });
});

async function start(): Promise<StandaloneSource> {
  const destination = new Writable({
    write(chunk, _encoding, done) {
      logged += chunk.toString();
      done();
    },
  });
  source = await startStandaloneSource({
    configDir,
    stateDir: join(root, 'state'),
    environment: 'alpha',
    crdDir: CRDS,
    logger: pino({ level: 'info' }, destination),
    watch: false,
    onSnapshot: (update) => {
      updates.push(update);
    },
  });
  return source;
}

const generationOf = (update: StandaloneUpdate | undefined, name: string) =>
  update?.snapshot.objects.find((o) => o.name === name)?.generation;

describe('startStandaloneSource on examples/', () => {
  it('accepts every object of the examples, and gives each Subscription its credentials', async () => {
    await start();
    const [first] = updates;
    expect(first?.initial).toBe(true);
    const notAccepted = first?.results.filter((r) =>
      r.conditions.some((c) => c.type === 'Accepted' && c.status !== 'True'),
    );
    expect(notAccepted).toEqual([]);
    expect(first?.snapshot.apis.map((a) => a.basePath)).toEqual([
      '/design-api/v1',
      '/recommendations-api/v1',
    ]);
    expect(first?.consumers.map((c) => [c.id, c.apiIds])).toEqual([
      ['acme/acme-narrow', ['platform/design-api']],
      ['acme/acme-platform', ['platform/design-api', 'platform/recommendations-api']],
      ['acme/acme-studio', ['platform/design-api']],
    ]);
    // existingSecret values are what the snapshot accepts for acme-platform.
    expect(first?.consumers[1]).toMatchObject({
      clientId: 'acme-platform-demo',
      clientSecret: 'demo-only-secret-acme-platform',
      apiKey: 'demo-only-key-acme-platform-1',
      apiKeySecondary: 'demo-only-key-acme-platform-2',
    });
    // acme-narrow has API keys disabled: none shown.
    expect(first?.consumers[0]?.apiKey).toBeUndefined();
    expect(logged).not.toMatch(/"level":(40|50)/);
  });

  it('raises the generation of an object whose spec changed, and skips reloads that change nothing', async () => {
    const loaded = await start();
    expect(generationOf(updates[0], 'acme-studio')).toBe(1);

    await loaded.reload();
    expect(updates).toHaveLength(1);

    const file = join(configDir, 'acme-studio.yaml');
    await writeFile(file, `${await readFile(file, 'utf8')}  suspended: true\n`);
    await loaded.reload();
    expect(updates).toHaveLength(2);
    expect(generationOf(updates[1], 'acme-studio')).toBe(2);
    expect(
      updates[1]?.snapshot.credentials.find((c) => c.id === 'acme/acme-studio')?.suspended,
    ).toBe(true);
  });

  it('keeps serving the last good OpenAPI document of an Api whose document breaks', async () => {
    const loaded = await start();
    const file = join(configDir, 'recommendations-api.yaml');
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('openapi: 3.0.3', 'openapi: 2.0.0'));
    await loaded.reload();

    expect(updates).toHaveLength(1);
    expect(logged).toContain(
      'recommendations-api.yaml (document 1) Api platform/recommendations-api: OpenAPI document is invalid',
    );
    expect(logged).toContain('(still serving its last good version)');
  });
});
