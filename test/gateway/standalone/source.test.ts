import {
  cp,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
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

async function start(
  watch = false,
  onUpdate?: (update: StandaloneUpdate) => Promise<void>,
): Promise<StandaloneSource> {
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
    watch,
    onSnapshot: async (update) => {
      updates.push(update);
      await onUpdate?.(update);
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

describe('watching the config dir', () => {
  /** Resolves once `count` snapshots were delivered (the watcher reloads within a second). */
  async function updatesReach(count: number): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (updates.length < count) {
      if (Date.now() > deadline) throw new Error(`${updates.length} updates, waited for ${count}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  const suspended = (update: StandaloneUpdate | undefined) =>
    update?.snapshot.credentials.find((c) => c.id === 'acme/acme-studio')?.suspended;

  // Regression: Node's recursive watcher on Linux followed the file's old inode after a save by
  // rename (editors, sed -i, git checkout): the first such save was seen, no later change was.
  it('sees every save by rename, not only the first', async () => {
    await start(true);
    const file = join(configDir, 'acme-studio.yaml');
    const text = await readFile(file, 'utf8');
    for (const [count, value] of [
      [2, true],
      [3, false],
      [4, true],
    ] as const) {
      await writeFile(join(configDir, '.acme-studio.yaml.tmp'), `${text}  suspended: ${value}\n`);
      await rename(join(configDir, '.acme-studio.yaml.tmp'), file);
      await updatesReach(count);
      expect(suspended(updates.at(-1))).toBe(value);
    }
    // And a plain write after those renames.
    await writeFile(file, text);
    await updatesReach(5);
    expect(suspended(updates.at(-1))).toBe(false);
  });

  // Regression: the watcher was set up after the first load, while the gateway already served
  // it (ready): an edit made in between was never seen.
  it('sees an edit made as soon as the first snapshot is served', async () => {
    const file = join(configDir, 'acme-studio.yaml');
    const text = await readFile(file, 'utf8');
    await start(true, async (update) => {
      if (update.initial) await writeFile(file, `${text}  suspended: true\n`);
    });
    await updatesReach(2);
    expect(suspended(updates[1])).toBe(true);
  });

  // Regression: symlinked files were skipped, and the `..data` swap ignored as a dot-file.
  it("reads a ConfigMap volume's layout (symlinks through ..data) and reloads on its swap", async () => {
    const volume = join(root, 'volume');
    const version = async (name: string, suspend: boolean) => {
      await mkdir(join(volume, name), { recursive: true });
      for (const file of await readdir(configDir)) {
        if (!file.endsWith('.yaml')) continue;
        const text = await readFile(join(configDir, file), 'utf8');
        await writeFile(
          join(volume, name, file),
          file === 'acme-studio.yaml' && suspend ? `${text}  suspended: true\n` : text,
        );
      }
    };
    await version('..2026_01_01_00_00_00.1', false);
    await symlink('..2026_01_01_00_00_00.1', join(volume, '..data'));
    for (const file of await readdir(join(volume, '..data'))) {
      await symlink(join('..data', file), join(volume, file));
    }
    configDir = volume;
    await start(true);
    expect(updates[0]?.snapshot.apis.map((a) => a.basePath)).toEqual([
      '/design-api/v1',
      '/recommendations-api/v1',
    ]);
    expect(suspended(updates[0])).toBe(false);

    // What the kubelet does: a new timestamped dir, a new ..data link renamed over the old one.
    await version('..2026_01_01_00_00_01.2', true);
    await symlink('..2026_01_01_00_00_01.2', join(volume, '..data_tmp'));
    await rename(join(volume, '..data_tmp'), join(volume, '..data'));
    await rm(join(volume, '..2026_01_01_00_00_00.1'), { recursive: true });
    await updatesReach(2);
    expect(suspended(updates[1])).toBe(true);
  });
});
