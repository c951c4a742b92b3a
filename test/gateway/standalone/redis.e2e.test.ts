/**
 * `--redis-url`: standalone gateways count rate limits in the Redis they are given, so two
 * replicas serving the same config dir enforce one limit together (SPEC.md, "Rate limits").
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, startGatewayProcess } from '../../support/gateway-process.ts';
import { type EchoBackend, startEchoBackend } from '../../support/http-server.ts';
import { type RedisServer, startRedis } from '../../support/redis-server.ts';
import {
  ACME_NARROW,
  type ConfigFixture,
  call,
  createConfigFixture,
  DESIGN,
  designApiYaml,
  readCredentials,
} from './fixtures.ts';

let redis: RedisServer;
let backend: EchoBackend;
let fixture: ConfigFixture;
const gateways: GatewayProcess[] = [];

beforeAll(async () => {
  redis = await startRedis();
  backend = await startEchoBackend();
  fixture = await createConfigFixture({
    'design-api.yaml': designApiYaml(backend.url).replace(
      '  subscribers: {namespaces: [acme]}\n',
      '  subscribers: {namespaces: [acme]}\n  rateLimit: {limits: [{requests: 5, period: 1h}]}\n',
    ),
    'acme-narrow.yaml': ACME_NARROW,
  });
  // One after the other: the second reuses what the first generated in the shared state dir.
  for (let i = 0; i < 2; i++) {
    gateways.push(
      await startGatewayProcess({
        configDir: fixture.configDir,
        stateDir: fixture.stateDir,
        args: ['--redis-url', redis.url, '--rate-limit-replicas', '2'],
      }),
    );
  }
});

afterAll(async () => {
  for (const gateway of gateways) await gateway.stop();
  await backend?.close();
  await redis?.stop();
  await fixture?.cleanup();
});

describe('two standalone gateways sharing one Redis', () => {
  it('enforce one per-consumer limit together', async () => {
    const { apiKey } = await readCredentials(fixture.stateDir, 'acme/acme-narrow');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const gateway = gateways[i % 2]!;
      statuses.push((await call(gateway.url, `${DESIGN}/catalog`, { apiKey })).status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);

    const metrics = await (await fetch(`${gateways[0]!.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/apiway_ratelimit_decisions_total\{[^}]*store="redis"[^}]*\} \d+/);
  });
});
