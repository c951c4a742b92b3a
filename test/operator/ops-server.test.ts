import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createOperatorMetrics } from '../../operator/src/metrics.ts';
import { createOpsServer } from '../../operator/src/ops-server.ts';

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
});

async function serve(ready: () => boolean): Promise<string> {
  const registry = new Registry();
  const metrics = createOperatorMetrics(registry);
  metrics.reconciles.inc({ controller: 'snapshot', result: 'success' });
  const server = createOpsServer({ registry, ready });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  close = () => new Promise((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('operator operations endpoints', () => {
  it('answers health always, readiness once the caches synced, and Prometheus metrics', async () => {
    let synced = false;
    const url = await serve(() => synced);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(503);
    synced = true;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain(
      'apiway_operator_reconciles_total{controller="snapshot",result="success"} 1',
    );
    expect((await fetch(`${url}/nope`)).status).toBe(404);
  });
});
