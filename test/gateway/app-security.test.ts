/**
 * Security semantics through the whole gateway: OpenAPI alternatives (OR), requirements (AND),
 * `[]`, `{}`, secure by default, scopes, API keys in every state, and what the backend receives.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ACME,
  ADMIN,
  BASE,
  designSnapshot,
  EXPIRED_KEY,
  KEYS_DISABLED_KEY,
  OTHER_API_KEY,
  SUSPENDED_KEY,
} from '../support/design-api-fixture.ts';
import {
  type RunningGateway,
  requestToken,
  startGateway,
  testSigningKeys,
} from '../support/gateway.ts';
import { send, type TestResponse } from '../support/http-client.ts';
import { type EchoBackend, startEchoBackend } from '../support/http-server.ts';

let backend: EchoBackend;
let gw: RunningGateway;
let readWrite: string;
let readOnly: string;
let admin: string;

beforeAll(async () => {
  backend = await startEchoBackend();
  gw = await startGateway();
  await gw.gateway.update(designSnapshot(backend.url), await testSigningKeys());
  readWrite = await requestToken(gw.url, BASE, ACME);
  readOnly = await requestToken(gw.url, BASE, ACME, 'read');
  admin = await requestToken(gw.url, BASE, ADMIN);
});

afterAll(async () => {
  await gw.close();
  await backend.close();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const apiKey = (key: string) => ({ 'x-api-key': key });

async function call(
  method: string,
  rest: string,
  headers: Record<string, string> = {},
): Promise<TestResponse> {
  return send(gw.url, { method, path: `${BASE}${rest}`, headers });
}

function expectUnauthorized(response: TestResponse): void {
  expect(response.status).toBe(401);
  expect(response.json()).toMatchObject({ error: 'invalid_token' });
  expect(response.headers['www-authenticate']).toMatch(
    /^Bearer error="invalid_token", error_description="[^"]+"$/,
  );
}

describe('security alternatives', () => {
  it('OR: a token with the scope or an API key each suffice; nothing is 401', async () => {
    expect((await call('GET', '/designs/1', bearer(readOnly))).status).toBe(200);
    expect((await call('GET', '/designs/1', apiKey(ACME.key))).status).toBe(200);
    expectUnauthorized(await call('GET', '/designs/1'));
  });

  it('AND: a token with the scope and an API key are both needed', async () => {
    expectUnauthorized(await call('POST', '/designs', bearer(readWrite)));
    expectUnauthorized(await call('POST', '/designs', apiKey(ACME.key)));
    expect(
      (await call('POST', '/designs', { ...bearer(readWrite), ...apiKey(ACME.key) })).status,
    ).toBe(200);
  });

  it('[] is public; {} makes authentication optional', async () => {
    expect((await call('GET', '/designs/latest')).status).toBe(200);
    expect((await call('GET', '/designs')).status).toBe(200);
    expect(backend.requests.at(-1)?.headers['x-apiway-client-id']).toBeUndefined();
    expect((await call('GET', '/designs', bearer(readOnly))).status).toBe(200);
    expect(backend.requests.at(-1)?.headers['x-apiway-client-id']).toBe(ACME.clientId);
  });

  it('secure by default: any valid credential of the Api, and nothing else', async () => {
    expect((await call('GET', '/files/a.json', bearer(readOnly))).status).toBe(200);
    expect((await call('GET', '/files/a.json', apiKey(ACME.key))).status).toBe(200);
    expectUnauthorized(await call('GET', '/files/a.json'));
  });

  it('never satisfies an unsupported scheme', async () => {
    expectUnauthorized(await call('GET', '/legacy', { authorization: 'Basic dXNlcjpwYXNz' }));
    expectUnauthorized(await call('GET', '/legacy', bearer(admin)));
  });
});

describe('scopes', () => {
  it('403 insufficient_scope names the needed scope in WWW-Authenticate and the body', async () => {
    const response = await call('DELETE', '/designs/1', bearer(readWrite));
    expect(response.status).toBe(403);
    expect(response.json()).toMatchObject({ error: 'insufficient_scope', scope: 'admin' });
    expect(response.headers['www-authenticate']).toMatch(
      /^Bearer error="insufficient_scope", .*scope="admin"$/,
    );
    expect((await call('DELETE', '/designs/1', bearer(admin))).status).toBe(200);
  });

  it('a token only carries the scopes it was minted with', async () => {
    const response = await call('POST', '/designs', { ...bearer(readOnly), ...apiKey(ACME.key) });
    expect(response.status).toBe(403);
    expect(response.json()).toMatchObject({ scope: 'write' });
  });
});

describe('invalid credentials', () => {
  it('is 401 even where authentication is optional or the operation public', async () => {
    for (const rest of ['/designs', '/designs/latest']) {
      expectUnauthorized(await call('GET', rest, bearer('not-a-jwt')));
      expectUnauthorized(await call('GET', rest, apiKey('no-such-key')));
    }
  });

  it('refuses expired, suspended, disabled and foreign API keys alike', async () => {
    for (const key of [EXPIRED_KEY, SUSPENDED_KEY, KEYS_DISABLED_KEY, OTHER_API_KEY, 'unknown']) {
      const response = await call('GET', '/designs/1', apiKey(key));
      expectUnauthorized(response);
      expect(response.json()).toMatchObject({ error_description: 'The API key is not valid.' });
    }
  });

  it('refuses a token with a broken signature and credentials of two subscriptions at once', async () => {
    const tampered = `${readOnly.slice(0, -4)}AAAA`;
    expectUnauthorized(await call('GET', '/designs/1', bearer(tampered)));
    expectUnauthorized(await call('GET', '/designs/1', { ...bearer(admin), ...apiKey(ACME.key) }));
  });

  it('accepts an API key in the query for a query scheme, and nowhere else', async () => {
    const ok = await send(gw.url, { path: `${BASE}/search?q=1&api_key=${ACME.key}&z=%2F` });
    expect(ok.status).toBe(200);
    // The key is removed, every other parameter kept byte for byte.
    expect(ok.json()).toMatchObject({ url: '/search?q=1&z=%2F' });
    expectUnauthorized(await call('GET', '/search', apiKey(ACME.key)));
    expectUnauthorized(
      await send(gw.url, { path: `${BASE}/search?api_key=${ACME.key}&api_key=${ACME.key}` }),
    );
  });
});

describe('what the backend receives', () => {
  it('no credential, X-Forwarded-* and the consumer headers, never spoofed copies', async () => {
    const response = await call('POST', '/designs?x=1', {
      ...bearer(readWrite),
      ...apiKey(ACME.key),
      'x-apiway-client-id': 'spoofed',
      'x-apiway-scopes': 'admin',
      'x-forwarded-for': '6.6.6.6',
      'x-forwarded-prefix': '/evil',
      cookie: 'session=kept',
    });
    expect(response.status).toBe(200);
    const received = backend.requests.at(-1)!;
    expect(received.url).toBe('/designs?x=1');
    expect(received.headers.authorization).toBeUndefined();
    expect(received.headers['x-api-key']).toBeUndefined();
    expect(received.headers.cookie).toBe('session=kept');
    expect(received.headers).toMatchObject({
      'x-apiway-client-id': ACME.clientId,
      'x-apiway-subscription': 'acme/acme',
      'x-apiway-scopes': 'read write',
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': new URL(gw.url).host,
      'x-forwarded-prefix': BASE,
    });
    expect(
      received.rawHeaders.filter((name) => name.toLowerCase() === 'x-apiway-client-id'),
    ).toHaveLength(1);
  });

  it('an API key carries its grant scopes', async () => {
    await call('GET', '/designs/1', apiKey(ADMIN.key));
    expect(backend.requests.at(-1)?.headers['x-apiway-scopes']).toBe('admin read write');
  });

  it('an Authorization header of another scheme on a public operation reaches the backend', async () => {
    await call('GET', '/designs/latest', { authorization: 'Basic dXNlcjpwYXNz' });
    expect(backend.requests.at(-1)?.headers.authorization).toBe('Basic dXNlcjpwYXNz');
  });
});

describe('logs', () => {
  it('never contain a token, an API key or a client secret', () => {
    const text = gw.logs.join('');
    expect(text).toContain('request completed');
    for (const secret of [
      readWrite,
      readOnly,
      admin,
      ACME.key,
      ADMIN.key,
      ACME.secret,
      ADMIN.secret,
      EXPIRED_KEY,
    ]) {
      expect(text).not.toContain(secret);
    }
    // One signature segment is enough to give a token away.
    for (const token of [readWrite, readOnly, admin])
      expect(text).not.toContain(token.split('.')[2]!);
  });
});
