import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PacedLoad, startPacedLoadWorker } from '../../bench/lib/paced-load.ts';

describe('paced load from a worker thread', () => {
  let server: Server;
  let origin: string;
  let paced: PacedLoad;
  const seen: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req.url ?? '');
      if (req.url === '/stall') {
        // Blocks this server's event loop: every request arriving meanwhile waits behind it.
        const until = performance.now() + 60;
        while (performance.now() < until);
      }
      res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-length': '2' });
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    paced = startPacedLoadWorker();
  });
  afterAll(async () => {
    await paced.stop();
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends the requests at the rate asked and times each response', async () => {
    seen.length = 0;
    const result = await paced.run({
      origin,
      connections: 4,
      durationSeconds: 1,
      requests: [
        { method: 'GET', path: '/a' },
        { method: 'GET', path: '/missing' },
      ],
      overallRate: 200,
    });
    // A lead-in of a quarter of the duration (50 requests) is sent and not recorded.
    expect(seen.length).toBe(250);
    // The list in rotation. Counted, not read in order: four connections may deliver two
    // requests sent a few ms apart in either order.
    expect(seen.filter((path) => path === '/a')).toHaveLength(125);
    expect(seen.filter((path) => path === '/missing')).toHaveLength(125);
    expect(result.responses).toBe(200);
    expect(result.statusCodes).toEqual({ '200': 100, '404': 100 });
    expect(result.non2xx).toBe(100);
    expect(result.rps).toBeGreaterThan(80);
    expect(result.rps).toBeLessThan(120);
    expect(result.p50Ms).toBeGreaterThan(0);
    expect(result.p99Ms).toBeGreaterThanOrEqual(result.p50Ms);
    expect(result.errors + result.timeouts).toBe(0);
  });

  it('keeps serving runs one after the other, and reports a bad run as an error', async () => {
    await expect(
      paced.run({ origin, connections: 1, durationSeconds: 1, requests: [], overallRate: 10 }),
    ).rejects.toThrow('a paced run needs at least one request');
    const result = await paced.run({
      origin,
      connections: 2,
      durationSeconds: 0.5,
      requests: [{ method: 'GET', path: '/a' }],
      overallRate: 100,
    });
    expect(result.responses).toBe(50);
  });

  it('finds the episode a stall of the server causes among the slowest requests', async () => {
    // One request in 400 stalls the server for 60 ms: the ~24 requests sent meanwhile (at 400 per
    // second) all wait, and they are the run's p99.
    const requests = Array.from({ length: 400 }, (_, i) => ({
      method: 'GET' as const,
      path: i === 200 ? '/stall' : '/a',
    }));
    const result = await paced.run({
      origin,
      connections: 50,
      durationSeconds: 1,
      requests,
      overallRate: 400,
    });
    expect(result.p99Ms).toBeGreaterThan(20);
    expect(result.tail?.episodes).toBeGreaterThanOrEqual(1);
    expect(result.tail?.longest_ms).toBeGreaterThan(40);
    expect(result.tail?.largest_requests).toBeGreaterThan(1);
  });
});
