/**
 * The rate-limit step through the whole gateway, with the in-memory limiter: every limit of the
 * consumer's grant, counted per Subscription whatever credential it uses.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RunningGateway,
  requestToken,
  startGateway,
  testSigningKeys,
} from '../support/gateway.ts';
import { send } from '../support/http-client.ts';
import { type EchoBackend, startEchoBackend } from '../support/http-server.ts';
import {
  apiFixture,
  credentialFixture,
  operation,
  path,
  snapshotFixture,
} from '../support/snapshot-fixtures.ts';

const KEY = 'limited-api-key-0123456789';
const SECRET = 'limited-client-secret-0123456789';

let backend: EchoBackend;
let gw: RunningGateway;

beforeAll(async () => {
  backend = await startEchoBackend();
  gw = await startGateway();
  const api = apiFixture({
    name: 'limited',
    basePath: '/limited',
    backendUrl: backend.url,
    paths: [
      path('/items', { GET: operation([[['key']], [['oauth']]]) }),
      path('/public', { GET: operation([]) }),
    ],
  });
  const rateLimit = [
    { scope: 'api' as const, target: api.id, requests: 100, periodSeconds: 1 },
    { scope: 'subscription' as const, target: 'acme/limited', requests: 2, periodSeconds: 3600 },
  ];
  await gw.gateway.update(
    snapshotFixture({
      apis: [api],
      credentials: [
        credentialFixture({
          name: 'limited',
          clientSecret: SECRET,
          apiKeys: [KEY],
          grants: { [api.id]: { scopes: [], rateLimit } },
        }),
      ],
    }),
    await testSigningKeys(),
  );
});

afterAll(async () => {
  await gw.close();
  await backend.close();
});

describe('rate limits', () => {
  it('counts a Subscription across its credentials and answers 429 with Retry-After once exhausted', async () => {
    const token = await requestToken(gw.url, '/limited', {
      clientId: 'client-limited',
      secret: SECRET,
    });
    const first = await send(gw.url, { path: '/limited/items', headers: { 'x-api-key': KEY } });
    expect(first.status).toBe(200);
    expect(first.headers['ratelimit-policy']).toBe(
      '"api-1s";q=100;w=1, "subscription-1h";q=2;w=3600',
    );
    expect(first.headers.ratelimit).toContain('"subscription-1h";r=1');

    const second = await send(gw.url, {
      path: '/limited/items',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(second.status).toBe(200);

    const before = backend.requests.length;
    const third = await send(gw.url, { path: '/limited/items', headers: { 'x-api-key': KEY } });
    expect(third.status).toBe(429);
    expect(third.json()).toMatchObject({ error: 'rate_limited' });
    expect(Number(third.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(third.headers.ratelimit).toContain('"subscription-1h";r=0');
    expect(backend.requests.length).toBe(before);
  });

  it('does not count anonymous requests', async () => {
    for (let i = 0; i < 3; i++) {
      const response = await send(gw.url, { path: '/limited/public' });
      expect(response.status).toBe(200);
      expect(response.headers.ratelimit).toBeUndefined();
    }
  });
});

describe('a failing limiter', () => {
  it('is a 500 server_error whose details stay in the log', async () => {
    const failing = {
      check: () => Promise.reject(new Error('limiter exploded at 10.1.2.3')),
      close: () => Promise.resolve(),
    };
    const broken = await startGateway({ limiter: failing });
    try {
      const api = apiFixture({
        name: 'limited',
        basePath: '/limited',
        backendUrl: backend.url,
        paths: [path('/items', { GET: operation([[['key']]]) })],
      });
      await broken.gateway.update(
        snapshotFixture({
          apis: [api],
          credentials: [
            credentialFixture({
              name: 'limited',
              apiKeys: [KEY],
              grants: {
                [api.id]: {
                  scopes: [],
                  rateLimit: [{ scope: 'api', target: api.id, requests: 1, periodSeconds: 1 }],
                },
              },
            }),
          ],
        }),
        await testSigningKeys(),
      );
      const response = await send(broken.url, {
        path: '/limited/items',
        headers: { 'x-api-key': KEY },
      });
      expect(response.status).toBe(500);
      expect(response.json()).toEqual({
        error: 'server_error',
        error_description: 'The gateway failed to process the request.',
      });
      expect(response.body).not.toContain('exploded');
      expect(broken.logs.join('')).toContain('limiter exploded');
    } finally {
      await broken.close();
    }
  });
});
