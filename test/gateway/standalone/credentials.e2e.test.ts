/**
 * The real gateway process serving a config dir, in front of real backends: what a consumer
 * can do with the credentials the gateway generated (SPEC.md, "Subscription" and "Gateway HTTP
 * surface"), and what never leaks (the backend never gets the credential; no log line holds one).
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGatewayProcess } from '../../support/gateway-process.ts';
import { type EchoBackend, startEchoBackend } from '../../support/http-server.ts';
import {
  ACME_NARROW,
  ACME_PLATFORM,
  type ConfigFixture,
  call,
  createConfigFixture,
  DESIGN,
  designApiYaml,
  mintToken,
  type PlainCredentials,
  PRODUCT_YAML,
  RECOMMENDATIONS,
  readCredentials,
  recommendationsApiYaml,
  requestToken,
} from './fixtures.ts';

let designBackend: EchoBackend;
let recommendationsBackend: EchoBackend;
let fixture: ConfigFixture;
let gateway: GatewayProcess;
let platform: PlainCredentials;
let narrow: PlainCredentials;
/** Every token minted in this file: none may appear in the output or reach a backend. */
const minted: string[] = [];

beforeAll(async () => {
  designBackend = await startEchoBackend();
  recommendationsBackend = await startEchoBackend();
  fixture = await createConfigFixture({
    'design-api.yaml': designApiYaml(designBackend.url),
    'recommendations-api.yaml': recommendationsApiYaml(recommendationsBackend.url),
    'product.yaml': PRODUCT_YAML,
    'acme-platform.yaml': ACME_PLATFORM,
    'acme-narrow.yaml': ACME_NARROW,
  });
  gateway = await startGatewayProcess({ configDir: fixture.configDir, stateDir: fixture.stateDir });
  platform = await readCredentials(fixture.stateDir, 'acme/acme-platform');
  narrow = await readCredentials(fixture.stateDir, 'acme/acme-narrow');
});

afterAll(async () => {
  await gateway?.stop();
  await designBackend?.close();
  await recommendationsBackend?.close();
  await fixture?.cleanup();
});

const mint = async (basePath: string, credentials: PlainCredentials, scope?: string) => {
  const token = await mintToken(gateway.url, basePath, credentials, scope);
  minted.push(token);
  return token;
};

describe('a Product subscription', () => {
  it('mints one token per member Api with its shared credential, each accepted only at its own Api', async () => {
    const designToken = await mint(DESIGN, platform);
    const recommendationsToken = await mint(RECOMMENDATIONS, platform);

    expect((await call(gateway.url, `${DESIGN}/designs`, { token: designToken })).status).toBe(200);
    expect(
      (
        await call(gateway.url, `${RECOMMENDATIONS}/recommendations`, {
          token: recommendationsToken,
        })
      ).status,
    ).toBe(200);

    const crossed = await call(gateway.url, `${RECOMMENDATIONS}/recommendations`, {
      token: designToken,
    });
    expect(crossed.status).toBe(401);
    expect(crossed.headers['www-authenticate']).toContain('error="invalid_token"');
    const crossedBack = await call(gateway.url, `${DESIGN}/designs`, {
      token: recommendationsToken,
    });
    expect(crossedBack.status).toBe(401);
    expect(crossedBack.headers['www-authenticate']).toContain('error="invalid_token"');
  });

  it('gets, without scope=, every granted scope the Api declares, and only those', async () => {
    const design = await requestToken(gateway.url, DESIGN, platform, { via: 'body' });
    expect(design.status).toBe(200);
    expect(design.headers['cache-control']).toBe('no-store');
    expect(design.json()).toMatchObject({ token_type: 'Bearer', scope: 'read:design' });
    minted.push(design.json<{ access_token: string }>().access_token);

    const recommendations = await requestToken(gateway.url, RECOMMENDATIONS, platform);
    expect(recommendations.json()).toMatchObject({ scope: 'read:recommendations' });
    minted.push(recommendations.json<{ access_token: string }>().access_token);
  });
});

describe('scope= at the token endpoint', () => {
  it('drops undeclared and ungranted scopes and grants the intersection', async () => {
    const response = await requestToken(gateway.url, DESIGN, platform, {
      scope: 'read:design write:design read:recommendations launch:rockets',
    });
    expect(response.status).toBe(200);
    expect(response.json()).toMatchObject({ scope: 'read:design' });
    minted.push(response.json<{ access_token: string }>().access_token);
  });

  it('answers invalid_scope when the intersection is empty', async () => {
    const response = await requestToken(gateway.url, DESIGN, narrow, { scope: 'write:design' });
    expect(response.status).toBe(400);
    expect(response.json()).toMatchObject({ error: 'invalid_scope' });
  });

  it('narrows: a token minted for fewer scopes cannot do what the others allow', async () => {
    // acme-platform holds read:design and read:recommendations; at the Design API only the
    // first, so asking for the second there is empty, and asking for the first narrows nothing.
    const empty = await requestToken(gateway.url, DESIGN, platform, {
      scope: 'read:recommendations',
    });
    expect(empty.json()).toMatchObject({ error: 'invalid_scope' });

    const token = await mint(DESIGN, platform, 'read:design');
    const write = await call(gateway.url, `${DESIGN}/designs`, { token }, 'POST');
    expect(write.status).toBe(403);
    expect(write.json()).toMatchObject({ error: 'insufficient_scope', scope: 'write:design' });
  });

  it('refuses a wrong secret with invalid_client (401)', async () => {
    const response = await requestToken(gateway.url, DESIGN, {
      ...platform,
      clientSecret: `${platform.clientSecret}x`,
    });
    expect(response.status).toBe(401);
    expect(response.json()).toMatchObject({ error: 'invalid_client' });
  });
});

describe('API keys', () => {
  it('work exactly on the operations of the Apis they are entitled to that accept an API key', async () => {
    for (const apiKey of [platform.apiKey, platform.apiKeySecondary]) {
      expect((await call(gateway.url, `${DESIGN}/designs`, { apiKey })).status).toBe(200);
      expect((await call(gateway.url, `${DESIGN}/catalog`, { apiKey })).status).toBe(200);
      expect((await call(gateway.url, `${RECOMMENDATIONS}/popular`, { apiKey })).status).toBe(200);
      // Token-only operations: an API key is not a credential there.
      expect((await call(gateway.url, `${DESIGN}/designs/42`, { apiKey })).status).toBe(401);
      expect(
        (await call(gateway.url, `${RECOMMENDATIONS}/recommendations`, { apiKey })).status,
      ).toBe(401);
    }
  });

  it('of a single-Api subscription do not open another Api', async () => {
    const narrowKeys = await readCredentials(fixture.stateDir, 'acme/acme-narrow');
    expect(
      (await call(gateway.url, `${DESIGN}/catalog`, { apiKey: narrowKeys.apiKey })).status,
    ).toBe(200);
    const other = await call(gateway.url, `${RECOMMENDATIONS}/popular`, {
      apiKey: narrowKeys.apiKey,
    });
    expect(other.status).toBe(401);
  });

  it('that are unknown get 401', async () => {
    const response = await call(gateway.url, `${DESIGN}/catalog`, {
      apiKey: 'apw_ak_not-a-real-key-0000000000000000000000',
    });
    expect(response.status).toBe(401);
  });
});

describe('what the backend sees', () => {
  it('names the consumer and never carries its token or API key', async () => {
    const token = await mint(DESIGN, platform);
    await call(gateway.url, `${DESIGN}/designs`, { token });
    await call(gateway.url, `${DESIGN}/catalog`, { apiKey: platform.apiKey });

    const last = designBackend.requests.at(-1)!;
    expect(last.headers['x-apiway-client-id']).toBe(platform.clientId);
    expect(last.headers['x-apiway-subscription']).toBe('acme/acme-platform');

    const secrets = [platform.clientSecret, platform.apiKey, platform.apiKeySecondary, ...minted];
    for (const request of [...designBackend.requests, ...recommendationsBackend.requests]) {
      const seen = JSON.stringify(request);
      for (const secret of secrets) expect(seen).not.toContain(secret);
    }
  });
});

describe('the output of the gateway', () => {
  it('prints each credential for the person who started it, and never logs one', async () => {
    const secrets = [
      platform.clientSecret,
      platform.apiKey,
      platform.apiKeySecondary,
      narrow.clientSecret,
      narrow.apiKey,
      ...minted,
    ];
    expect(minted.length).toBeGreaterThan(3);
    // The printed table (plain text on stdout) is the one place credentials are shown...
    const printed = gateway
      .stdout()
      .split('\n')
      .filter((line) => !line.startsWith('{'))
      .join('\n');
    for (const secret of [platform.clientSecret, platform.apiKey, narrow.clientSecret]) {
      expect(printed).toContain(secret);
    }
    // ...and no log line, on stdout or stderr, holds any secret or token.
    const logged = gateway.logs();
    expect(logged.some((line) => line.msg === 'request completed')).toBe(true);
    const logText = JSON.stringify(logged) + gateway.stderr();
    for (const secret of secrets) expect(logText).not.toContain(secret);
  });
});
