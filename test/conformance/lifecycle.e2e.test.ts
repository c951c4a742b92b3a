/**
 * SPEC.md "Standalone" and the operations endpoints: /healthz, /readyz, /metrics on the admin
 * port; credentials generated, printed at start and kept across a restart; hot reload when a
 * file changes (without dropping a request); and revocation — suspending or deleting a
 * Subscription, or taking an Api out of its Product, stops its keys and tokens at once.
 */

import { mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EchoBackend, freePort, startEchoBackend } from '../support/http-server.ts';
import {
  basic,
  type ConfigDir,
  configDirFrom,
  eventually,
  fixtureText,
  type Gateway,
  mint,
  printedCredentials,
  rm,
  startGateway,
  tokenRequest,
} from './support.ts';

let backend: EchoBackend;

beforeAll(async () => {
  backend = await startEchoBackend();
});

afterAll(async () => {
  await backend?.close();
});

async function status(gateway: Gateway, path: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${gateway.url}${path}`, { headers });
  await response.arrayBuffer();
  return response.status;
}

describe('a running gateway', () => {
  let config: ConfigDir;
  let gateway: Gateway;

  beforeAll(async () => {
    config = await configDirFrom('lifecycle', { BACKEND: backend.url });
    gateway = await startGateway({ configDir: config.dir, stateDir: await config.scratch() });
  });

  afterAll(async () => {
    await gateway?.stop();
    await config?.dispose();
  });

  describe('operations endpoints (admin port)', () => {
    it('/healthz and /readyz answer 200 once a snapshot is loaded', async () => {
      expect((await fetch(`${gateway.adminUrl}/healthz`)).status).toBe(200);
      expect((await fetch(`${gateway.adminUrl}/readyz`)).status).toBe(200);
    });

    it('/metrics is Prometheus text', async () => {
      await status(gateway, '/orders/v1/ping');
      const response = await fetch(`${gateway.adminUrl}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(
        /^(text\/plain|application\/openmetrics-text)/,
      );
      const text = await response.text();
      expect(text).toMatch(/^# HELP /m);
      expect(text).toMatch(/^# TYPE \S+ (counter|gauge|histogram|summary)/m);
    });
  });

  describe('generated credentials', () => {
    it('are printed at start and work', async () => {
      const printed = printedCredentials(gateway.output(), 'customers/generated');
      expect(printed.client_id, gateway.output()).toBeTruthy();
      expect(printed.client_secret).toBeTruthy();
      expect(printed.api_key).toBeTruthy();
      expect(await status(gateway, '/orders/v1/orders', { 'x-api-key': printed.api_key! })).toBe(
        200,
      );
      const token = await mint(
        gateway.url,
        '/orders/v1',
        printed.client_id!,
        printed.client_secret!,
      );
      expect(await status(gateway, '/orders/v1/orders', { authorization: `Bearer ${token}` })).toBe(
        200,
      );
      if (printed.api_key_secondary) {
        expect(
          await status(gateway, '/orders/v1/orders', { 'x-api-key': printed.api_key_secondary }),
        ).toBe(200);
      }
    });
  });

  describe('revocation within the reload time', () => {
    it('suspending a Subscription stops its API key and every token minted for it', async () => {
      const key = { 'x-api-key': 'revocable-key-0123456789' };
      const token = await mint(
        gateway.url,
        '/orders/v1',
        'revocable-client',
        'revocable-secret-0123456789',
      );
      const bearer = { authorization: `Bearer ${token}` };
      expect(await status(gateway, '/orders/v1/orders', key)).toBe(200);
      expect(await status(gateway, '/orders/v1/orders', bearer)).toBe(200);

      const text = await config.read('revocable.yaml');
      await config.write('revocable.yaml', text.replace('suspended: false', 'suspended: true'));
      await eventually(
        async () =>
          (await status(gateway, '/orders/v1/orders', key)) === 401 &&
          (await status(gateway, '/orders/v1/orders', bearer)) === 401,
        5_000,
        'the suspension to take effect',
      );
      const refused = await tokenRequest(
        gateway.url,
        '/orders/v1',
        { grant_type: 'client_credentials' },
        {
          headers: { authorization: basic('revocable-client', 'revocable-secret-0123456789') },
        },
      );
      expect(refused.body.access_token).toBeUndefined();
      expect([400, 401]).toContain(refused.status);

      // Lifting the suspension brings the API key back.
      await config.write('revocable.yaml', text);
      await eventually(
        async () => (await status(gateway, '/orders/v1/orders', key)) === 200,
        5_000,
        'the suspension to be lifted',
      );
    });

    it('deleting a Subscription stops its API key and tokens', async () => {
      const key = { 'x-api-key': 'deletable-key-0123456789' };
      const token = await mint(
        gateway.url,
        '/catalog/v1',
        'deletable-client',
        'deletable-secret-0123456789',
      );
      const bearer = { authorization: `Bearer ${token}` };
      expect(await status(gateway, '/catalog/v1/items', bearer)).toBe(200);
      await config.remove('deletable.yaml');
      await eventually(
        async () =>
          (await status(gateway, '/catalog/v1/items', key)) === 401 &&
          (await status(gateway, '/catalog/v1/items', bearer)) === 401,
        5_000,
        'the deletion to take effect',
      );
    });

    it('taking an Api out of a Product stops the tokens minted for it, not the others', async () => {
      const catalog = await mint(
        gateway.url,
        '/catalog/v1',
        'bundled-client',
        'bundled-secret-0123456789',
      );
      const orders = await mint(
        gateway.url,
        '/orders/v1',
        'bundled-client',
        'bundled-secret-0123456789',
      );
      expect(
        await status(gateway, '/catalog/v1/items', { authorization: `Bearer ${catalog}` }),
      ).toBe(200);
      const text = await config.read('product.yaml');
      await config.write('product.yaml', text.replace(', {name: catalog-api}', ''));
      await eventually(
        async () =>
          (await status(gateway, '/catalog/v1/items', { authorization: `Bearer ${catalog}` })) ===
          401,
        5_000,
        'the Product change to take effect',
      );
      expect(
        await status(gateway, '/catalog/v1/items', { 'x-api-key': 'bundled-key-0123456789' }),
      ).toBe(401);
      expect(
        await status(gateway, '/orders/v1/orders', { authorization: `Bearer ${orders}` }),
      ).toBe(200);
      await config.write('product.yaml', text);
      await eventually(
        async () =>
          (await status(gateway, '/catalog/v1/items', {
            'x-api-key': 'bundled-key-0123456789',
          })) === 200,
        5_000,
        'the Api to be back in the Product',
      );
    });
  });

  describe('hot reload', () => {
    it('a new operation in the OpenAPI document is served once the file changes', async () => {
      expect(await status(gateway, '/orders/v1/status')).toBe(404);
      const text = await config.read('apis.yaml');
      await config.write(
        'apis.yaml',
        text.replace(
          '        /ping:\n',
          "        /status:\n          get:\n            security: []\n            responses: {'200': {description: status}}\n        /ping:\n",
        ),
      );
      await eventually(
        async () => (await status(gateway, '/orders/v1/status')) === 200,
        5_000,
        'the new path',
      );
    });

    it('a new Api file is served', async () => {
      await config.write(
        'new-api.yaml',
        `apiVersion: apiway.net/v1alpha1
kind: Api
metadata: {name: new-api, namespace: shop}
spec:
  displayName: New
  basePath: /new/v1
  environments: [alpha]
  backend: {url: '${backend.url}'}
  openapi:
    inline: |
      openapi: 3.1.0
      info: {title: New, version: 1.0.0}
      paths:
        /hello:
          get:
            security: []
            responses: {'200': {description: hi}}
`,
      );
      await eventually(
        async () => (await status(gateway, '/new/v1/hello')) === 200,
        5_000,
        'the new Api',
      );
    });

    it('a broken file leaves the rest served', async () => {
      await config.write('broken.yaml', 'kind: Api\nmetadata: {name: [unclosed\n  : : :\n');
      await config.write(
        'invalid-api.yaml',
        'apiVersion: apiway.net/v1alpha1\nkind: Api\nmetadata: {name: invalid-api, namespace: shop}\nspec: {displayName: no basePath}\n',
      );
      // Give the watcher time to see both files, then check nothing else was lost.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(await status(gateway, '/orders/v1/ping')).toBe(200);
      expect(
        await status(gateway, '/orders/v1/orders', { 'x-api-key': 'revocable-key-0123456789' }),
      ).toBe(200);
      expect(await status(gateway, '/new/v1/hello')).toBe(200);
      expect((await fetch(`${gateway.adminUrl}/readyz`)).status).toBe(200);
      await config.remove('broken.yaml');
      await config.remove('invalid-api.yaml');
    });

    it('saves by rename (editors, sed -i, git) are seen every time', async () => {
      const text = await config.read('apis.yaml');
      for (const path of ['/renamed-one', '/renamed-two', '/renamed-three']) {
        const next = (await config.read('apis.yaml')).replace(
          '        /ping:\n',
          `        ${path}:\n          get:\n            security: []\n            responses: {'200': {description: x}}\n        /ping:\n`,
        );
        await config.write('.apis.yaml.swp', next);
        await rename(join(config.dir, '.apis.yaml.swp'), join(config.dir, 'apis.yaml'));
        await eventually(
          async () => (await status(gateway, `/orders/v1${path}`)) === 200,
          5_000,
          path,
        );
      }
      await config.write('apis.yaml', text);
      await eventually(
        async () => (await status(gateway, '/orders/v1/renamed-one')) === 404,
        5_000,
        'a plain write',
      );
    });

    it('no request is dropped while the configuration reloads', async () => {
      let stop = false;
      const statuses: number[] = [];
      const errors: unknown[] = [];
      const load = (async () => {
        while (!stop) {
          try {
            statuses.push(await status(gateway, '/orders/v1/ping'));
          } catch (error) {
            errors.push(error);
          }
        }
      })();
      const text = await config.read('apis.yaml');
      for (let i = 0; i < 5; i++) {
        await config.write(
          'apis.yaml',
          text.replace('title: Orders, version: 1.0.0', `title: Orders, version: 1.0.${i + 1}`),
        );
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      stop = true;
      await load;
      expect(errors).toEqual([]);
      expect(statuses.length).toBeGreaterThan(10);
      expect(new Set(statuses)).toEqual(new Set([200]));
    });
  });
});

describe('a config dir mounted from a ConfigMap (files are symlinks through ..data)', () => {
  it('is read, and the swap of ..data is a reload', async () => {
    const source = await configDirFrom('lifecycle', { BACKEND: backend.url });
    const dir = await source.scratch();
    const project = async (version: string, edit: (file: string, text: string) => string) => {
      await mkdir(join(dir, version));
      for (const file of ['apis.yaml', 'product.yaml', 'bundled.yaml']) {
        await writeFile(join(dir, version, file), edit(file, await source.read(file)));
      }
    };
    await project('..2026_01_01_00_00_00.000000001', (_file, text) => text);
    await symlink('..2026_01_01_00_00_00.000000001', join(dir, '..data'));
    for (const file of ['apis.yaml', 'product.yaml', 'bundled.yaml']) {
      await symlink(join('..data', file), join(dir, file));
    }
    const gateway = await startGateway({ configDir: dir, stateDir: await source.scratch() });
    try {
      expect(
        await status(gateway, '/orders/v1/orders', { 'x-api-key': 'bundled-key-0123456789' }),
      ).toBe(200);
      await project('..2026_01_01_00_01_00.000000002', (file, text) =>
        file === 'bundled.yaml'
          ? text.replace('bundled-key-0123456789', 'bundled-key-swapped-0123')
          : text,
      );
      await symlink('..2026_01_01_00_01_00.000000002', join(dir, '..data_tmp'));
      await rename(join(dir, '..data_tmp'), join(dir, '..data'));
      await rm(join(dir, '..2026_01_01_00_00_00.000000001'), { recursive: true });
      await eventually(
        async () =>
          (await status(gateway, '/orders/v1/orders', {
            'x-api-key': 'bundled-key-swapped-0123',
          })) === 200,
        5_000,
        'the swapped ConfigMap',
      );
    } finally {
      await gateway.stop();
      await source.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('starting', () => {
  it('answers 503 with Retry-After until its first snapshot is loaded, then serves', async () => {
    const config = await configDirFrom('lifecycle', { BACKEND: backend.url });
    const port = await freePort();
    const adminPort = await freePort();
    // Polls from the moment the process starts; a fresh state dir makes it generate keys first.
    const seen: Array<{ status: number; retryAfter: string | null; ready: number }> = [];
    let done = false;
    const polling = (async () => {
      while (!done) {
        try {
          const response = await fetch(`http://127.0.0.1:${port}/orders/v1/ping`);
          await response.arrayBuffer();
          const ready = await fetch(`http://127.0.0.1:${adminPort}/readyz`).then(
            async (r) => {
              await r.arrayBuffer();
              return r.status;
            },
            () => 0,
          );
          seen.push({
            status: response.status,
            retryAfter: response.headers.get('retry-after'),
            ready,
          });
        } catch {
          // Not listening yet.
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const gateway = await startGateway({
      configDir: config.dir,
      stateDir: await config.scratch(),
      port,
      adminPort,
    }).finally(() => {
      done = true;
    });
    try {
      await polling;
      expect(await status(gateway, '/orders/v1/ping')).toBe(200);
      for (const answer of seen) {
        expect([200, 503]).toContain(answer.status);
        if (answer.status === 503) expect(Number(answer.retryAfter)).toBeGreaterThan(0);
      }
      // The pipeline never serves while /readyz still says 503.
      expect(seen.filter((answer) => answer.status === 200 && answer.ready === 503)).toEqual([]);
    } finally {
      await gateway.stop();
      await config.dispose();
    }
  });
});

describe('restarts', () => {
  it('keeps generated credentials and signing keys in --state-dir', async () => {
    const config = await configDirFrom('lifecycle', { BACKEND: backend.url });
    const stateDir = await config.scratch();
    let gateway = await startGateway({ configDir: config.dir, stateDir });
    try {
      const before = printedCredentials(gateway.output(), 'customers/generated');
      expect(before.api_key).toBeTruthy();
      const token = await mint(gateway.url, '/orders/v1', before.client_id!, before.client_secret!);
      const { port, adminPort } = gateway;
      await gateway.stop();
      gateway = await startGateway({ configDir: config.dir, stateDir, port, adminPort });
      expect(printedCredentials(gateway.output(), 'customers/generated')).toEqual(before);
      expect(await status(gateway, '/orders/v1/orders', { 'x-api-key': before.api_key! })).toBe(
        200,
      );
      // Same public URL, same keys: a token minted before the restart is still good.
      expect(await status(gateway, '/orders/v1/orders', { authorization: `Bearer ${token}` })).toBe(
        200,
      );
    } finally {
      await gateway.stop();
      await config.dispose();
      await rm(stateDir, { recursive: true, force: true });
    }
  });

  it('keeps them without --state-dir too (the default state directory)', async () => {
    const config = await configDirFrom('lifecycle', { BACKEND: backend.url });
    const cwd = await config.scratch();
    const env = { HOME: cwd, XDG_STATE_HOME: `${cwd}/state`, XDG_DATA_HOME: `${cwd}/data` };
    let gateway = await startGateway({ configDir: config.dir, cwd, env });
    try {
      const before = printedCredentials(gateway.output(), 'customers/generated');
      expect(before.api_key, gateway.output()).toBeTruthy();
      await gateway.stop();
      gateway = await startGateway({ configDir: config.dir, cwd, env });
      expect(printedCredentials(gateway.output(), 'customers/generated')).toEqual(before);
    } finally {
      await gateway.stop();
      await config.dispose();
      await rm(cwd, { recursive: true, force: true });
    }
  });

  it('a changed existingSecret value takes effect on reload', async () => {
    const config = await configDirFrom('lifecycle', { BACKEND: backend.url });
    const gateway = await startGateway({ configDir: config.dir, stateDir: await config.scratch() });
    try {
      const text = await fixtureText('lifecycle', 'bundled.yaml');
      await config.write(
        'bundled.yaml',
        text.replace('api_key: bundled-key-0123456789', 'api_key: bundled-key-rotated-0123'),
      );
      await eventually(
        async () =>
          (await status(gateway, '/orders/v1/orders', {
            'x-api-key': 'bundled-key-rotated-0123',
          })) === 200,
        5_000,
        'the new key',
      );
    } finally {
      await gateway.stop();
      await config.dispose();
    }
  });
});
