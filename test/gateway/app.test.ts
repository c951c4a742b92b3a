/**
 * The gateway's routing and lifecycle, in-process: createGateway behind real node:http servers,
 * in front of a real echo backend.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SigningKeySet } from '../../gateway/src/oauth/signing-keys.ts';
import { ACME, BASE, designSnapshot } from '../support/design-api-fixture.ts';
import {
  type RunningGateway,
  requestToken,
  startGateway,
  testSigningKeys,
} from '../support/gateway.ts';
import { send } from '../support/http-client.ts';
import { type EchoBackend, startEchoBackend } from '../support/http-server.ts';
import { snapshotFixture } from '../support/snapshot-fixtures.ts';

let backend: EchoBackend;
let gw: RunningGateway;
let keys: SigningKeySet;

beforeAll(async () => {
  backend = await startEchoBackend();
  keys = await testSigningKeys();
  gw = await startGateway();
});

afterAll(async () => {
  await gw.close();
  await backend.close();
});

describe('before the first snapshot', () => {
  it('answers 503 on every main-port request, is alive but not ready', async () => {
    const response = await send(gw.url, { path: `${BASE}/designs/latest` });
    expect(response.status).toBe(503);
    expect(response.json()).toMatchObject({ error: 'service_unavailable' });
    expect(response.headers['retry-after']).toBe('1');
    expect((await send(gw.url, { path: '/.well-known/jwks' })).status).toBe(503);
    expect((await send(gw.adminUrl, { path: '/healthz' })).status).toBe(200);
    expect((await send(gw.adminUrl, { path: '/readyz' })).status).toBe(503);
    expect(gw.gateway.loadedVersion).toBeUndefined();
    expect(backend.requests).toHaveLength(0);
  });
});

describe('with a snapshot', () => {
  beforeAll(async () => {
    await gw.gateway.update(designSnapshot(backend.url), keys);
  });

  it('is ready and reports the version it serves', async () => {
    const snapshot = designSnapshot(backend.url);
    expect(gw.gateway.loadedVersion).toBe(snapshot.version);
    const ready = await send(gw.adminUrl, { path: '/readyz' });
    expect(ready.status).toBe(200);
    expect(ready.json()).toEqual({ ready: true, version: snapshot.version });
  });

  it('proxies a matched public operation to the backend, path and query unchanged', async () => {
    const response = await send(gw.url, { path: `${BASE}/designs/latest?x=1&y=%2F+z` });
    expect(response.status).toBe(200);
    expect(response.json()).toMatchObject({ method: 'GET', url: '/designs/latest?x=1&y=%2F+z' });
  });

  it('answers 404 under a basePath for unmatched paths, never reaching the backend', async () => {
    const before = backend.requests.length;
    for (const target of [
      `${BASE}/unknown`,
      `${BASE}/designs/latest/`, // trailing slash: not folded
      `${BASE}/designs/`,
      `${BASE}`,
      `${BASE}/designs/a/b`,
      `${BASE}/designs%2Flatest`, // %2F is not a separator
      `${BASE}/../other/x`, // dot-segments never escape a basePath
      `${BASE}/designs/%2e%2e/latest`,
      `${BASE}/./designs/latest`,
      '/nowhere',
    ]) {
      const response = await send(gw.url, { path: target });
      expect(response.status, target).toBe(404);
      expect(response.json(), target).toMatchObject({ error: 'not_found' });
      expect(response.headers['content-type']).toBe('application/json');
    }
    expect(backend.requests.length).toBe(before);
  });

  it('answers 405 with Allow for a known path and a wrong method, never reaching the backend', async () => {
    const before = backend.requests.length;
    const response = await send(gw.url, { method: 'PUT', path: `${BASE}/designs/latest` });
    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe('DELETE, GET, HEAD');
    expect(response.json()).toMatchObject({ error: 'method_not_allowed' });
    expect(backend.requests.length).toBe(before);
  });

  it('serves HEAD with the GET operation and forwards it as HEAD', async () => {
    const response = await send(gw.url, { method: 'HEAD', path: `${BASE}/designs/latest` });
    expect(response.status).toBe(200);
    expect(response.body).toBe('');
    expect(backend.requests.at(-1)).toMatchObject({ method: 'HEAD', url: '/designs/latest' });
  });

  it('passes a parameter holding %2F to the backend as sent', async () => {
    const response = await send(gw.url, {
      path: `${BASE}/designs/a%2Fb`,
      headers: { 'x-api-key': 'acme-api-key-0123456789' },
    });
    expect(response.status).toBe(200);
    expect(response.json()).toMatchObject({ url: '/designs/a%2Fb' });
  });

  it('publishes the JWKS (public members only) and RFC 8414 metadata per Api', async () => {
    const jwks = await send(gw.url, { path: '/.well-known/jwks' });
    expect(jwks.status).toBe(200);
    const set = jwks.json<{ keys: Array<Record<string, unknown>> }>();
    expect(set.keys.map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
    for (const key of set.keys) expect(Object.keys(key)).not.toContain('d');

    const metadata = await send(gw.url, { path: `/.well-known/oauth-authorization-server${BASE}` });
    expect(metadata.status).toBe(200);
    expect(metadata.json()).toMatchObject({
      issuer: `${gw.url}${BASE}`,
      token_endpoint: `${gw.url}${BASE}/oauth2/v2/token`,
      jwks_uri: `${gw.url}/.well-known/jwks`,
      code_challenge_methods_supported: ['S256'],
    });
    const post = await send(gw.url, { method: 'POST', path: '/.well-known/jwks' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    expect(
      (await send(gw.url, { path: '/.well-known/oauth-authorization-server/nope' })).status,
    ).toBe(404);
  });

  it('answers the token endpoint itself, ahead of the Api operations', async () => {
    const wrongMethod = await send(gw.url, { path: `${BASE}/oauth2/v2/token` });
    expect(wrongMethod.status).toBe(405);
    const badClient = await send(gw.url, {
      method: 'POST',
      path: `${BASE}/oauth2/v2/token`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_id=nobody&client_secret=wrong',
    });
    expect(badClient.status).toBe(401);
    expect(badClient.json()).toMatchObject({ error: 'invalid_client' });
    expect(badClient.headers['cache-control']).toBe('no-store');
  });

  it('refuses an oversized token request body with 413', async () => {
    const response = await send(gw.url, {
      method: 'POST',
      path: `${BASE}/oauth2/v2/token`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&pad=${'x'.repeat(70 * 1024)}`,
    });
    expect(response.status).toBe(413);
  });

  it('answers 404 on the authorization endpoint until it exists', async () => {
    expect(
      (await send(gw.url, { path: `${BASE}/oauth2/v2/authorize?response_type=code` })).status,
    ).toBe(404);
  });

  it('returns the caller’s X-Request-Id when plausible, a fresh one otherwise, and sends it to the backend', async () => {
    const kept = await send(gw.url, {
      path: `${BASE}/designs/latest`,
      headers: { 'x-request-id': 'trace-42' },
    });
    expect(kept.headers['x-request-id']).toBe('trace-42');
    expect(backend.requests.at(-1)?.headers['x-request-id']).toBe('trace-42');
    const replaced = await send(gw.url, {
      path: `${BASE}/designs/latest`,
      headers: { 'x-request-id': 'has spaces' },
    });
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const error = await send(gw.url, { path: '/nowhere' });
    expect(error.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('exposes Prometheus metrics with bounded labels', async () => {
    const metrics = await send(gw.adminUrl, { path: '/metrics' });
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain(
      'apiway_requests_total{api="platform/design",status_class="2xx"}',
    );
    expect(metrics.body).toContain('apiway_requests_total{api="none",status_class="4xx"}');
    expect(metrics.body).toContain('apiway_request_duration_seconds_bucket');
    expect(metrics.body).toContain('apiway_snapshot_loads_total{result="success"} 1');
    expect(metrics.body).toMatch(
      /apiway_snapshot_info\{environment="test",version="[0-9a-f]{64}"\} 1/,
    );
    expect(metrics.body).not.toContain('designs');
    expect((await send(gw.adminUrl, { path: '/nope' })).status).toBe(404);
  });

  it('keeps the previous snapshot when an update fails, and counts the failure', async () => {
    const version = gw.gateway.loadedVersion;
    await expect(
      gw.gateway.update(snapshotFixture({ apis: [], environment: 'elsewhere' }), keys),
    ).rejects.toThrow();
    await expect(
      gw.gateway.update(designSnapshot(backend.url), {
        keys: [{ ...keys.keys[0]!, privateJwk: { kty: 'EC' } }],
      }),
    ).rejects.toThrow();
    expect(gw.gateway.loadedVersion).toBe(version);
    expect((await send(gw.url, { path: `${BASE}/designs/latest` })).status).toBe(200);
    const metrics = await send(gw.adminUrl, { path: '/metrics' });
    expect(metrics.body).toContain('apiway_snapshot_loads_total{result="failure"} 2');
  });
});

describe('a token in use across reloads (its verification is remembered, never its validity)', () => {
  const suspendAcme = () => {
    const snapshot = designSnapshot(backend.url);
    return {
      ...snapshot,
      version: `${snapshot.version}-acme-suspended`,
      credentials: snapshot.credentials.map((c) =>
        c.clientId === ACME.clientId ? { ...c, suspended: true } : c,
      ),
    };
  };
  const read = (token: string) =>
    send(gw.url, { path: `${BASE}/designs/1`, headers: { authorization: `Bearer ${token}` } });

  it('is refused at once when a reload suspends its Subscription, and works again after', async () => {
    await gw.gateway.update(designSnapshot(backend.url), keys);
    const token = await requestToken(gw.url, BASE, ACME, 'read');
    expect((await read(token)).status).toBe(200);
    expect((await read(token)).status).toBe(200);
    await gw.gateway.update(suspendAcme(), keys);
    expect((await read(token)).status).toBe(401);
    // Lifted without tokensNotBefore (a fixture, not the compiler): the token is valid again.
    await gw.gateway.update(designSnapshot(backend.url), keys);
    expect((await read(token)).status).toBe(200);
  });

  it('is refused at once when its signing key leaves the key set', async () => {
    await gw.gateway.update(designSnapshot(backend.url), keys);
    const token = await requestToken(gw.url, BASE, ACME, 'read');
    expect((await read(token)).status).toBe(200);
    const rotated = await testSigningKeys();
    await gw.gateway.update(designSnapshot(backend.url), rotated);
    const refused = await read(token);
    expect(refused.status).toBe(401);
    expect(refused.json()).toMatchObject({ error: 'invalid_token' });
    await gw.gateway.update(designSnapshot(backend.url), keys);
  });
});

describe('a reload that changes one Api', () => {
  it('serves the changed Api as it now is and the unchanged one as before', async () => {
    const snapshot = designSnapshot(backend.url);
    await gw.gateway.update(snapshot, keys);
    expect((await send(gw.url, { path: `${BASE}/designs/latest` })).status).toBe(200);
    const other = snapshot.apis.find((api) => api.basePath === '/other');
    if (!other) throw new Error('fixture');
    const moved = snapshotFixture({
      apis: snapshot.apis.map((api) =>
        api === other
          ? {
              ...api,
              paths: [
                {
                  template: '/moved',
                  operations: { GET: { security: [], securityDefaulted: false } },
                },
              ],
            }
          : api,
      ),
      credentials: snapshot.credentials,
    });
    await gw.gateway.update(moved, keys);
    expect((await send(gw.url, { path: '/other/moved' })).status).toBe(200);
    expect((await send(gw.url, { path: `${BASE}/designs/latest` })).status).toBe(200);
    await gw.gateway.update(snapshot, keys);
    expect((await send(gw.url, { path: '/other/moved' })).status).toBe(404);
  });
});
