/**
 * The two authorization stores have one contract; every case runs against both: memory, and a
 * real redis-server of its own (with two clients, as two replicas would have).
 */

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryAuthorizationStore } from '../../../../gateway/src/oauth/authorize/memory-store.ts';
import { createRedisAuthorizationStore } from '../../../../gateway/src/oauth/authorize/redis-store.ts';
import type {
  AuthorizationCode,
  AuthorizationStore,
  AuthorizationTransaction,
} from '../../../../gateway/src/oauth/authorize/store.ts';
import { type RedisServer, startRedis } from '../../../support/redis-server.ts';

let redisServer: RedisServer;
const clients: Redis[] = [];
beforeAll(async () => {
  redisServer = await startRedis();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.quit()));
  await redisServer.stop();
});

/** Two handles on one store: two replicas (Redis) or the same process twice (memory). */
type Replicas = () => [AuthorizationStore, AuthorizationStore];

const memory: Replicas = () => {
  const store = createMemoryAuthorizationStore();
  return [store, store];
};
let environmentCounter = 0;
const redis: Replicas = () => {
  // A fresh environment per case: keys never collide between cases.
  const environment = `test-${++environmentCounter}`;
  const make = () => {
    const client = new Redis(redisServer.url);
    clients.push(client);
    return createRedisAuthorizationStore({ redis: client, environment });
  };
  return [make(), make()];
};

function code(overrides: Partial<AuthorizationCode> = {}): AuthorizationCode {
  return {
    apiId: 'platform/design',
    clientId: 'client-spa',
    redirectUri: 'https://app.example/cb',
    codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    scopes: ['read'],
    subject: 'alice',
    idpId: 'platform/idp',
    expiresAt: Date.now() + 60_000,
    ...overrides,
  };
}

const transaction: AuthorizationTransaction = {
  id: 'tx-1',
  apiId: 'platform/design',
  clientId: 'client-spa',
  redirectUri: 'https://app.example/cb',
  state: 'xyz',
  codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
  scopes: ['read'],
  idpId: 'platform/idp',
  browserBinding: 'ab'.repeat(32),
  csrfToken: 'csrf',
  login: { state: 'tx-1', nonce: 'n', codeVerifier: 'v' },
  expiresAt: Date.now() + 600_000,
};

describe.each([
  ['memory', memory],
  ['redis', redis],
])('the %s authorization store', (_name, replicas) => {
  it('keeps a transaction for any replica, and lets exactly one take it', async () => {
    const [a, b] = replicas();
    await a.saveTransaction(transaction, 600);
    expect(await b.loadTransaction('tx-1')).toEqual(transaction);
    const taken = await Promise.all([a.takeTransaction('tx-1'), b.takeTransaction('tx-1')]);
    expect(taken.filter((t) => t !== undefined)).toEqual([transaction]);
    expect(await a.loadTransaction('tx-1')).toBeUndefined();
  });

  it('redeems a code once, on any replica, even when replicas race for it', async () => {
    const [a, b] = replicas();
    const issued = code();
    await a.saveCode('hash-1', issued, 65);
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 ? a : b).redeemCode('platform/design', 'hash-1', 3600),
      ),
    );
    expect(outcomes.filter((o) => o.outcome === 'redeemed')).toEqual([
      { outcome: 'redeemed', code: issued },
    ]);
    expect(outcomes.filter((o) => o.outcome === 'replayed')).toHaveLength(9);
  });

  it('a code is unknown at another Api, and stays redeemable at its own', async () => {
    const [a, b] = replicas();
    await a.saveCode('hash-2', code(), 65);
    expect(await b.redeemCode('platform/other', 'hash-2', 3600)).toEqual({ outcome: 'unknown' });
    expect(await b.redeemCode('platform/design', 'hash-2', 3600)).toMatchObject({
      outcome: 'redeemed',
    });
    expect(await b.redeemCode('platform/design', 'never-issued', 3600)).toEqual({
      outcome: 'unknown',
    });
  });

  it('a replay revokes every token recorded for the code, on every replica', async () => {
    const [a, b] = replicas();
    await a.saveCode('hash-3', code(), 65);
    expect(await a.redeemCode('platform/design', 'hash-3', 3600)).toMatchObject({
      outcome: 'redeemed',
    });
    expect(await a.recordToken('platform/design', 'hash-3', 'jti-1', 3600)).toBe(true);
    expect(await b.isRevoked('jti-1')).toBe(false);
    expect(await b.redeemCode('platform/design', 'hash-3', 3600)).toEqual({ outcome: 'replayed' });
    expect(await a.isRevoked('jti-1')).toBe(true);
    expect(await b.isRevoked('jti-1')).toBe(true);
    expect(await b.isRevoked('jti-other')).toBe(false);
  });

  it('a token recorded after a replay is refused (it must not be issued)', async () => {
    const [a, b] = replicas();
    await a.saveCode('hash-4', code(), 65);
    await a.redeemCode('platform/design', 'hash-4', 3600);
    await b.redeemCode('platform/design', 'hash-4', 3600);
    expect(await a.recordToken('platform/design', 'hash-4', 'jti-late', 3600)).toBe(false);
    // And for a code never redeemed: nothing to record against.
    expect(await a.recordToken('platform/design', 'hash-none', 'jti-x', 3600)).toBe(false);
  });
});
