/**
 * The proxy step against real backends: streaming both ways, upstream failures (502 / 504),
 * client aborts, and hot swaps while a request is in flight.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SigningKeySet } from '../../gateway/src/oauth/signing-keys.ts';
import type { Snapshot } from '../../gateway/src/snapshot/schema.ts';
import { type RunningGateway, startGateway, testSigningKeys } from '../support/gateway.ts';
import { send } from '../support/http-client.ts';
import { freePort, type RunningServer, startHttpServer } from '../support/http-server.ts';
import { apiFixture, operation, path, snapshotFixture } from '../support/snapshot-fixtures.ts';

/** A backend whose `/held` requests wait until the test releases them. */
interface ControlledBackend extends RunningServer {
  /** Resolves when the n-th held request arrived (1-based). */
  arrived(n: number): Promise<void>;
  release(): void;
  /** Held requests whose client went away before the backend answered. */
  aborted: number;
}

async function startControlledBackend(): Promise<ControlledBackend> {
  const held: ServerResponse[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  let aborted = 0;
  const running = await startHttpServer(async (req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/held') {
      held.push(res);
      res.on('close', () => {
        if (!res.writableFinished) backend.aborted = ++aborted;
      });
      for (const waiter of waiters.filter((w) => w.n <= held.length)) waiter.resolve();
      return;
    }
    if (req.url === '/hang') return; // never answers
    if (req.url === '/cut') {
      // Promises 1000 bytes, sends 10, then dies.
      res.writeHead(200, { 'content-length': '1000' });
      res.write('0123456789', () => res.destroy());
      return;
    }
    if (req.url === '/port') {
      res.end(String(req.socket.remotePort));
      return;
    }
    if (req.url === '/upload') {
      let size = 0;
      for await (const chunk of req) size += (chunk as Buffer).length;
      res.writeHead(201, [
        'content-type',
        'text/plain',
        'set-cookie',
        'a=1',
        'set-cookie',
        'b=2',
        'connection',
        'x-backend-hop',
        'x-backend-hop',
        'drop-me',
      ]);
      res.end(`received ${size}`);
      return;
    }
    if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      for (let i = 0; i < 64; i++) res.write(Buffer.alloc(16 * 1024, i));
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`hello from ${req.url}`);
  });
  const backend: ControlledBackend = {
    ...running,
    aborted: 0,
    arrived: (n) =>
      new Promise<void>((resolve) => {
        if (held.length >= n) resolve();
        else waiters.push({ n, resolve });
      }),
    release() {
      for (const res of held.splice(0))
        if (!res.writableEnded && !res.destroyed) res.end('released');
    },
  };
  return backend;
}

function proxySnapshot(backendUrl: string, timeoutMs = 5_000, basePath = '/svc'): Snapshot {
  const open = operation([]);
  return snapshotFixture({
    apis: [
      apiFixture({
        name: 'svc',
        basePath,
        backend: { url: backendUrl, timeoutMs },
        paths: [
          path('/held', { GET: open }),
          path('/hang', { GET: open, POST: open }),
          path('/upload', { POST: open }),
          path('/stream', { GET: open }),
          path('/hello', { GET: open }),
          path('/port', { GET: open }),
          path('/cut', { GET: open }),
        ],
      }),
    ],
  });
}

let backend: ControlledBackend;
let gw: RunningGateway;
let keys: SigningKeySet;

beforeAll(async () => {
  backend = await startControlledBackend();
  keys = await testSigningKeys();
  gw = await startGateway();
});

afterAll(async () => {
  backend.release();
  await gw.close();
  await backend.close();
});

describe('streaming', () => {
  it('streams a request body up and the response (status, repeated headers) down, without hop-by-hop headers', async () => {
    await gw.gateway.update(proxySnapshot(backend.url), keys);
    const body = 'x'.repeat(300_000);
    const response = await send(gw.url, { method: 'POST', path: '/svc/upload', body });
    expect(response.status).toBe(201);
    expect(response.body).toBe('received 300000');
    expect(response.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(response.headers['x-backend-hop']).toBeUndefined();
    expect(response.headers['x-request-id']).toBeDefined();
  });

  it('streams a large response', async () => {
    const response = await send(gw.url, { path: '/svc/stream' });
    expect(response.status).toBe(200);
    expect(response.body.length).toBe(64 * 16 * 1024);
  });
});

describe('upstream failures', () => {
  it('answers 502 bad_gateway when the backend refuses connections', async () => {
    const port = await freePort();
    await gw.gateway.update(proxySnapshot(`http://127.0.0.1:${port}`), keys);
    const response = await send(gw.url, { path: '/svc/hello' });
    expect(response.status).toBe(502);
    expect(response.json()).toMatchObject({ error: 'bad_gateway' });
    const metrics = await send(gw.adminUrl, { path: '/metrics' });
    expect(metrics.body).toContain(
      'apiway_upstream_errors_total{api="platform/svc",code="ECONNREFUSED"} 1',
    );
  });

  it('answers 502 for a host that does not resolve', async () => {
    await gw.gateway.update(proxySnapshot('http://apiway-no-such-host.invalid'), keys);
    const response = await send(gw.url, { path: '/svc/hello' });
    expect(response.status).toBe(502);
  });

  it('answers 504 gateway_timeout when the backend does not answer within its timeout', async () => {
    await gw.gateway.update(proxySnapshot(backend.url, 100), keys);
    const response = await send(gw.url, { path: '/svc/hang' });
    expect(response.status).toBe(504);
    expect(response.json()).toMatchObject({ error: 'gateway_timeout' });
  });

  it('answers 504 even while the client is still uploading a body the backend does not read', async () => {
    const response = await send(gw.url, {
      method: 'POST',
      path: '/svc/hang',
      body: 'y'.repeat(5_000_000),
    });
    expect(response.status).toBe(504);
  });
});

describe('a backend failing mid-response', () => {
  it('cuts the client connection rather than pretend the response completed', async () => {
    await gw.gateway.update(proxySnapshot(backend.url), keys);
    await expect(send(gw.url, { path: '/svc/cut' })).rejects.toThrow();
    const metrics = await send(gw.adminUrl, { path: '/metrics' });
    expect(metrics.body).toMatch(
      /apiway_upstream_errors_total\{api="platform\/svc",code="[A-Za-z_]+"\} 1/,
    );
    expect(gw.logs.join('')).toMatch(/"path":"\/svc\/cut".*"upstreamError"/);
  });
});

describe('client aborts', () => {
  it('aborts the backend request when the client goes away', async () => {
    await gw.gateway.update(proxySnapshot(backend.url), keys);
    const before = backend.aborted;
    const controller = new AbortController();
    const pending = fetch(`${gw.url}/svc/held`, { signal: controller.signal }).catch(
      () => 'aborted',
    );
    await backend.arrived(1);
    controller.abort();
    expect(await pending).toBe('aborted');
    await expect.poll(() => backend.aborted).toBe(before + 1);
    backend.release();
    // Logged as the client's doing (nginx's 499), not as a backend failure.
    await expect
      .poll(() => gw.logs.join(''))
      .toMatch(/"path":"\/svc\/held","status":499,[^\n]*"aborted":true/);
  });
});

describe('hot swap', () => {
  it('keeps the warm connections of a backend whose origin did not change', async () => {
    await gw.gateway.update(proxySnapshot(backend.url, 5_000, '/a'), keys);
    const before = (await send(gw.url, { path: '/a/port' })).body;
    await gw.gateway.update(proxySnapshot(backend.url, 5_000, '/b'), keys);
    expect((await send(gw.url, { path: '/b/port' })).body).toBe(before);
  });

  it('lets a request in flight finish on the snapshot it started with', async () => {
    // A backend of its own, so its connections are this test's only.
    const old = await startControlledBackend();
    const other = await startHttpServer((_req, res) => {
      res.end('from the new backend');
    });
    try {
      await gw.gateway.update(proxySnapshot(old.url, 5_000, '/old'), keys);
      const inFlight = send(gw.url, { path: '/old/held' });
      await old.arrived(1);

      // The new snapshot no longer has `/old`, and names another backend origin.
      await gw.gateway.update(proxySnapshot(other.url, 5_000, '/new'), keys);
      expect((await send(gw.url, { path: '/old/hello' })).status).toBe(404);
      expect((await send(gw.url, { path: '/new/hello' })).body).toBe('from the new backend');

      old.release();
      const finished = await inFlight;
      expect(finished.status).toBe(200);
      expect(finished.body).toBe('released');
      // The old backend's pool closes once its last request ended: its connections go.
      await expect
        .poll(
          () => new Promise<number>((resolve) => old.server.getConnections((_e, n) => resolve(n))),
        )
        .toBe(0);
    } finally {
      old.release();
      await Promise.all([old.close(), other.close()]);
    }
  });
});
