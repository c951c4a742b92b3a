/**
 * The state dir: what the gateway generated survives a restart (SPEC.md: "Credentials it
 * generates are kept in a state directory, so they survive a restart"), and a stop is graceful.
 */

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGatewayProcess } from '../../support/gateway-process.ts';
import { send } from '../../support/http-client.ts';
import { type RunningServer, startHttpServer } from '../../support/http-server.ts';
import {
  ACME_PLATFORM,
  type ConfigFixture,
  call,
  createConfigFixture,
  DESIGN,
  designApiYaml,
  mintToken,
  PRODUCT_YAML,
  RECOMMENDATIONS,
  readCredentials,
  recommendationsApiYaml,
} from './fixtures.ts';

let backend: RunningServer;
let fixture: ConfigFixture;
let gateway: GatewayProcess | undefined;
/** Released to let the slow backend answer. */
let release: () => void = () => {};
let slowRequestArrived: () => void = () => {};

beforeAll(async () => {
  backend = await startHttpServer(async (req, res) => {
    if (req.url === '/designs/slow') {
      slowRequestArrived();
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  fixture = await createConfigFixture({
    'design-api.yaml': designApiYaml(backend.url),
    'recommendations-api.yaml': recommendationsApiYaml(backend.url),
    'product.yaml': PRODUCT_YAML,
    'acme-platform.yaml': ACME_PLATFORM,
  });
});

afterAll(async () => {
  release();
  await gateway?.stop();
  await backend?.close();
  await fixture?.cleanup();
});

describe('a restart', () => {
  it('keeps the credentials, the API keys and the signing keys: tokens minted before still work', async () => {
    gateway = await startGatewayProcess({
      configDir: fixture.configDir,
      stateDir: fixture.stateDir,
    });
    const before = await readCredentials(fixture.stateDir, 'acme/acme-platform');
    const designToken = await mintToken(gateway.url, DESIGN, before);
    const recommendationsToken = await mintToken(gateway.url, RECOMMENDATIONS, before); // RS256
    const { port, adminPort } = gateway;
    expect((await gateway.stop()).code).toBe(0);

    gateway = await startGatewayProcess({
      configDir: fixture.configDir,
      stateDir: fixture.stateDir,
      port,
      adminPort,
    });
    expect(await readCredentials(fixture.stateDir, 'acme/acme-platform')).toEqual(before);
    expect((await call(gateway.url, `${DESIGN}/designs`, { token: designToken })).status).toBe(200);
    expect(
      (
        await call(gateway.url, `${RECOMMENDATIONS}/recommendations`, {
          token: recommendationsToken,
        })
      ).status,
    ).toBe(200);
    expect((await call(gateway.url, `${DESIGN}/catalog`, { apiKey: before.apiKey })).status).toBe(
      200,
    );
    expect((await mintToken(gateway.url, DESIGN, before)).length).toBeGreaterThan(0);
    // Nothing new was generated on the second start.
    expect(gateway.logs().filter((line) => line.event === 'credentials_changed')).toEqual([]);
    expect(gateway.logs().filter((line) => line.event === 'signing_key_generated')).toEqual([]);
  });

  it('keeps the state readable by its owner only', async () => {
    for (const file of ['credentials.json', 'signing-keys.json']) {
      const { mode } = await stat(join(fixture.stateDir, file));
      expect((mode & 0o777).toString(8)).toBe('600');
    }
  });
});

describe('a stop', () => {
  it('lets an in-flight request finish, then exits 0', async () => {
    gateway ??= await startGatewayProcess({
      configDir: fixture.configDir,
      stateDir: fixture.stateDir,
    });
    const credentials = await readCredentials(fixture.stateDir, 'acme/acme-platform');
    const arrived = new Promise<void>((resolve) => {
      slowRequestArrived = resolve;
    });
    const token = await mintToken(gateway.url, DESIGN, credentials);
    const inflight = send(gateway.url, {
      path: `${DESIGN}/designs/slow`,
      headers: { authorization: `Bearer ${token}` },
    });
    await arrived;
    const stopped = gateway.stop('SIGTERM');
    await gateway.waitForOutput((output) => output.includes('shutting down'));
    release();
    expect((await inflight).status).toBe(200);
    expect((await stopped).code).toBe(0);
    gateway = undefined;
  });
});
