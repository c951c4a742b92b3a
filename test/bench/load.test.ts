import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { requestsOfConnection, runLoad } from '../../bench/lib/load.ts';

describe('the requests each load-generator connection cycles through', () => {
  const tokens = Array.from({ length: 1000 }, (_, i) => `token-${i}`);

  it('deals a long list out: every request on exactly one connection', () => {
    const shares = Array.from({ length: 50 }, (_, k) => requestsOfConnection(tokens, k, 50));
    expect(shares.every((share) => share.length === 20)).toBe(true);
    expect(shares[3]?.slice(0, 3)).toEqual(['token-3', 'token-53', 'token-103']);
    expect(new Set(shares.flat()).size).toBe(1000);
  });

  it('gives each connection the whole of a short list, each starting elsewhere', () => {
    const keys = ['a', 'b', 'c'];
    expect(requestsOfConnection(keys, 0, 50)).toEqual(['a', 'b', 'c']);
    expect(requestsOfConnection(keys, 1, 50)).toEqual(['b', 'c', 'a']);
    expect(requestsOfConnection(keys, 5, 50)).toEqual(['c', 'a', 'b']);
  });

  it('sends every request of the list, spread over the connections (autocannon, a real server)', async () => {
    const seen = new Map<string, number>();
    const server = createServer((req, res) => {
      seen.set(req.url ?? '', (seen.get(req.url ?? '') ?? 0) + 1);
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const paths = Array.from({ length: 12 }, (_, i) => `/r${i}`);
      const result = await runLoad({
        origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        connections: 4,
        durationSeconds: 1,
        requests: paths.map((path) => ({ method: 'GET', path })),
      });
      expect(result.non2xx + result.errors).toBe(0);
      expect([...seen.keys()].sort()).toEqual([...paths].sort());
      // Dealt out evenly: no request is sent much more often than another.
      const counts = [...seen.values()];
      expect(Math.max(...counts) / Math.min(...counts)).toBeLessThan(1.5);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
