/**
 * SPEC.md "Rate limits": every limit that applies (Api, Product, Subscription) is enforced per
 * consumer; 429 with Retry-After and rate-limit headers; Redis-shared counters across replicas
 * with --redis-url, memory otherwise; a local fallback (and a metric) when Redis is unreachable.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EchoBackend, freePort, startEchoBackend } from '../support/http-server.ts';
import { type RedisServer, startRedis } from '../support/redis-server.ts';
import { type ConfigDir, configDirFrom, type Gateway, mint, startGateway } from './support.ts';

let backend: EchoBackend;
let config: ConfigDir;
const gateways: Gateway[] = [];
let redis: RedisServer | undefined;

beforeAll(async () => {
  backend = await startEchoBackend();
  config = await configDirFrom('limits', { BACKEND: backend.url });
});

afterAll(async () => {
  await Promise.all(gateways.map((gateway) => gateway.stop()));
  await redis?.stop();
  await backend?.close();
  await config?.dispose();
});

async function get(gateway: Gateway, path: string, headers: Record<string, string>) {
  const response = await fetch(`${gateway.url}${path}`, { headers });
  await response.arrayBuffer();
  return response;
}

function expectLimited(response: Response) {
  expect(response.status).toBe(429);
  const retryAfter = Number(response.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(86_400);
  const names = [...response.headers.keys()].filter((name) => /ratelimit/i.test(name));
  expect(names.length, [...response.headers.keys()].join(',')).toBeGreaterThan(0);
}

describe('in memory (no --redis-url)', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway({ configDir: config.dir, stateDir: await config.scratch() });
    gateways.push(gateway);
  });

  it('the Api limit: the 4th request of the day is 429 and never reaches the backend', async () => {
    const key = { 'x-api-key': 'first-key-0123456789' };
    for (let i = 0; i < 3; i++)
      expect((await get(gateway, '/limited/v1/items', key)).status).toBe(200);
    const before = backend.requests.length;
    expectLimited(await get(gateway, '/limited/v1/items', key));
    expect(backend.requests.length).toBe(before);
  });

  it('per consumer: its token shares the counter, another consumer is unaffected', async () => {
    const token = await mint(gateway.url, '/limited/v1', 'first-client', 'first-secret-0123456789');
    expectLimited(await get(gateway, '/limited/v1/items', { authorization: `Bearer ${token}` }));
    expect(
      (await get(gateway, '/limited/v1/items', { 'x-api-key': 'second-key-0123456789' })).status,
    ).toBe(200);
  });

  it('a Subscription rateLimit applies to its consumer', async () => {
    const key = { 'x-api-key': 'overridden-key-0123456789' };
    for (let i = 0; i < 2; i++)
      expect((await get(gateway, '/limited/v1/items', key)).status).toBe(200);
    expectLimited(await get(gateway, '/limited/v1/items', key));
  });

  it('a Product limit counts across all its member Apis', async () => {
    const key = { 'x-api-key': 'bundle-key-0123456789' };
    expect((await get(gateway, '/member-one/v1/a', key)).status).toBe(200);
    expect((await get(gateway, '/member-one/v1/a', key)).status).toBe(200);
    expect((await get(gateway, '/member-two/v1/b', key)).status).toBe(200);
    expectLimited(await get(gateway, '/member-two/v1/b', key));
    expectLimited(await get(gateway, '/member-one/v1/a', key));
  });

  it('a per-second limit: Retry-After says when to come back, and then it works', async () => {
    const key = { 'x-api-key': 'burst-key-0123456789' };
    let limited: Response | undefined;
    for (let i = 0; i < 10 && !limited; i++) {
      const response = await get(gateway, '/burst/v1/items', key);
      if (response.status === 429) limited = response;
      else expect(response.status).toBe(200);
    }
    expect(limited).toBeDefined();
    expectLimited(limited!);
    const retryAfter = Number(limited!.headers.get('retry-after'));
    expect(retryAfter).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
    expect((await get(gateway, '/burst/v1/items', key)).status).toBe(200);
  });

  it('requests refused before the limit step (404, 401) do not count', async () => {
    const key = { 'x-api-key': 'second-key-0123456789' };
    for (let i = 0; i < 5; i++)
      expect((await get(gateway, '/limited/v1/nothing', key)).status).toBe(404);
    // second-key used 1 of 3 above.
    expect((await get(gateway, '/limited/v1/items', key)).status).toBe(200);
    expect((await get(gateway, '/limited/v1/items', key)).status).toBe(200);
    expectLimited(await get(gateway, '/limited/v1/items', key));
  });
});

describe('with --redis-url: counters shared by every replica', () => {
  let one: Gateway;
  let two: Gateway;
  beforeAll(async () => {
    redis = await startRedis();
    // Replicas behind one address: same public URL (the token issuer), same state directory.
    const stateDir = await config.scratch();
    const args = ['--redis-url', redis.url, '--public-url', 'https://gateway.example.test'];
    one = await startGateway({ configDir: config.dir, stateDir, args });
    gateways.push(one);
    two = await startGateway({ configDir: config.dir, stateDir, args });
    gateways.push(two);
  });

  it('3 requests spread over two replicas exhaust the daily limit on both', async () => {
    const key = { 'x-api-key': 'shared-key-0123456789' };
    expect((await get(one, '/limited/v1/items', key)).status).toBe(200);
    expect((await get(two, '/limited/v1/items', key)).status).toBe(200);
    expect((await get(one, '/limited/v1/items', key)).status).toBe(200);
    expectLimited(await get(two, '/limited/v1/items', key));
    expectLimited(await get(one, '/limited/v1/items', key));
  });

  it('a token minted by one replica is accepted by the other (same public URL and state directory)', async () => {
    const token = await mint(one.url, '/limited/v1', 'second-client', 'second-secret-0123456789');
    expect((await get(two, '/limited/v1/items', { authorization: `Bearer ${token}` })).status).toBe(
      200,
    );
  });
});

describe('with an unreachable Redis', () => {
  it('keeps serving under the local fallback and says so in its metrics', async () => {
    const gateway = await startGateway({
      configDir: config.dir,
      stateDir: await config.scratch(),
      args: ['--redis-url', `redis://127.0.0.1:${await freePort()}`],
    });
    gateways.push(gateway);
    const key = { 'x-api-key': 'fallback-key-0123456789' };
    expect((await get(gateway, '/limited/v1/items', key)).status).toBe(200);
    const metrics = await (await fetch(`${gateway.adminUrl}/metrics`)).text();
    const redisLines = metrics
      .split('\n')
      .filter((line) => !line.startsWith('#') && /redis|fallback/i.test(line));
    expect(redisLines.length, metrics).toBeGreaterThan(0);
  });
});
