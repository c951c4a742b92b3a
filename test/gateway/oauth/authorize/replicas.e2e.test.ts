/**
 * Two gateway replicas of one environment behind one public URL, sharing a real redis-server as
 * their authorization store: a code issued through one is redeemed at the other, and replaying
 * it at the first revokes the token everywhere.
 */

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { calculatePKCECodeChallenge, randomPKCECodeVerifier } from 'openid-client';
import pino from 'pino';
import type { Browser } from 'playwright-core';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../../../gateway/src/app.ts';
import { createRedisAuthorizationStore } from '../../../../gateway/src/oauth/authorize/redis-store.ts';
import { createMemoryLimiter } from '../../../../gateway/src/ratelimit/memory-store.ts';
import type { Snapshot } from '../../../../gateway/src/snapshot/schema.ts';
import { launchBrowser } from '../../../support/browser.ts';
import { type RunningGateway, startGateway, testSigningKeys } from '../../../support/gateway.ts';
import { type EchoBackend, startEchoBackend } from '../../../support/http-server.ts';
import { startTestIdp, type TestIdp } from '../../../support/oidc-provider.ts';
import { type RedisServer, startRedis } from '../../../support/redis-server.ts';
import {
  apiFixture,
  credentialFixture,
  DEFAULT_SCHEMES,
  operation,
  path,
  snapshotFixture,
  TEST_ENVIRONMENT,
} from '../../../support/snapshot-fixtures.ts';

const BASE = '/design-api/v1';
const IDP_ID = 'platform/test-idp';
const REDIRECT = 'http://127.0.0.1:1/callback';

let redisServer: RedisServer;
const clients: Redis[] = [];
let backend: EchoBackend;
let idp: TestIdp;
/** Replica A: its URL is the public URL of both. */
let replicaA: RunningGateway;
/** Replica B, on its own port, same public URL. */
let replicaB: { gateway: Gateway; server: Server; url: string };
let browser: Browser;

function storeClient() {
  const client = new Redis(redisServer.url);
  clients.push(client);
  return createRedisAuthorizationStore({ redis: client, environment: TEST_ENVIRONMENT });
}

function environment(): Snapshot {
  const design = apiFixture({
    name: 'design',
    basePath: BASE,
    backendUrl: backend.url,
    idps: [IDP_ID],
    securitySchemes: DEFAULT_SCHEMES,
    paths: [path('/designs', { GET: operation([[['oauth', 'read']]]) })],
  });
  const spa = {
    ...credentialFixture({ name: 'spa', grants: { 'platform/design': { scopes: ['read'] } } }),
    authorizationCode: { redirectUris: [REDIRECT], public: true },
  };
  return {
    ...snapshotFixture({ apis: [design], credentials: [spa] }),
    idps: [
      {
        id: IDP_ID,
        issuer: idp.issuer,
        audiences: ['api://design'],
        apis: ['platform/design'],
        scopeClaim: 'scope',
        login: { clientId: 'apiway-gateway' },
      },
    ],
  };
}

beforeAll(async () => {
  [redisServer, backend] = await Promise.all([startRedis(), startEchoBackend()]);
  replicaA = await startGateway({ authorization: { authorizationStore: storeClient() } });
  const gateway = createGateway({
    logger: pino({ level: 'silent' }),
    registry: new Registry(),
    limiter: createMemoryLimiter(),
    publicUrl: replicaA.url,
    environment: TEST_ENVIRONMENT,
    authorizationStore: storeClient(),
  });
  const server = createServer((req, res) => void gateway.handleRequest(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  replicaB = { gateway, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };

  idp = await startTestIdp({
    loginClient: {
      clientId: 'apiway-gateway',
      redirectUris: [`${replicaA.url}${BASE}/oauth2/v2/authorize/callback`],
    },
  });
  const keys = await testSigningKeys();
  await replicaA.gateway.update(environment(), keys);
  await replicaB.gateway.update(environment(), keys);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  replicaB?.server.closeAllConnections();
  await new Promise((resolve) => replicaB?.server.close(resolve));
  await replicaB?.gateway.close();
  await replicaA?.close();
  await Promise.all([idp?.close(), backend?.close()]);
  await Promise.all(clients.map((c) => c.quit()));
  await redisServer?.stop();
});

/** The browser never reaches REDIRECT (nothing listens): the code is read off the request. */
async function codeThroughReplicaA(verifier: string): Promise<string> {
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: 'client-spa',
    redirect_uri: REDIRECT,
    code_challenge: await calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${replicaA.url}${BASE}/oauth2/v2/authorize?${query}`);
    await page.waitForURL((url) => url.href.startsWith(`${idp.issuer}/`));
    await page.fill('input[name=login]', 'erin');
    await page.fill('input[name=password]', 'any password');
    await page.click('button[type=submit]');
    await page.waitForURL((url) => url.href.includes('/oauth2/v2/authorize/consent?'));
    const redirected = page.waitForRequest((request) => request.url().startsWith(`${REDIRECT}?`));
    await page.click('button[value=approve]');
    return new URL((await redirected).url()).searchParams.get('code')!;
  } finally {
    await context.close();
  }
}

function redeemAt(url: string, code: string, verifier: string) {
  return fetch(`${url}${BASE}/oauth2/v2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      client_id: 'client-spa',
      redirect_uri: REDIRECT,
    }),
  });
}

function callAt(url: string, token: string) {
  return fetch(`${url}${BASE}/designs`, { headers: { authorization: `Bearer ${token}` } });
}

describe('replicas sharing Redis', () => {
  it('redeem a code at any replica, once; a replay at another revokes the token on all', async () => {
    const verifier = randomPKCECodeVerifier();
    const code = await codeThroughReplicaA(verifier);
    const redeemed = await redeemAt(replicaB.url, code, verifier);
    expect(redeemed.status).toBe(200);
    const { access_token: token } = (await redeemed.json()) as { access_token: string };
    expect((await callAt(replicaA.url, token)).status).toBe(200);
    expect((await callAt(replicaB.url, token)).status).toBe(200);

    const replay = await redeemAt(replicaA.url, code, verifier);
    expect(replay.status).toBe(400);
    expect(await replay.json()).toMatchObject({ error: 'invalid_grant' });
    expect((await callAt(replicaA.url, token)).status).toBe(401);
    expect((await callAt(replicaB.url, token)).status).toBe(401);
  });
});
