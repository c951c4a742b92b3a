/**
 * A baseline only, never a product: the least a Node reverse proxy can do, with the same
 * building blocks as the gateway (node:http in, one undici `Pool` with keep-alive out, bodies
 * streamed both ways, through undici's `stream()`, its fast path for proxies). Whatever the gateway costs beyond this is the price of its features.
 * Not hardened: it forwards any path and only drops hop-by-hop headers.
 *
 *   node bench/servers/bare-proxy.ts PORT UPSTREAM_ORIGIN   (prints "listening PORT")
 */

import { createServer, type IncomingHttpHeaders } from 'node:http';
import { Pool } from 'undici';

const port = Number(process.argv[2] ?? 0);
const origin = process.argv[3];
if (!origin) throw new Error('usage: bare-proxy.ts PORT UPSTREAM_ORIGIN');
const pool = new Pool(origin);
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'host',
]);

function endToEnd(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>) {
  const kept: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) kept[name] = value;
  }
  return kept;
}

const server = createServer(async (req, res) => {
  try {
    const hasBody =
      req.headers['transfer-encoding'] !== undefined ||
      (req.headers['content-length'] ?? '0') !== '0';
    // `stream` writes the response body straight into `res` (undici's fast path for proxies).
    await pool.stream(
      {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: endToEnd(req.headers),
        body: hasBody ? req : null,
      },
      ({ statusCode, headers }) => {
        res.writeHead(statusCode, endToEnd(headers));
        return res;
      },
    );
  } catch {
    if (!res.headersSent) {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('bad gateway');
    } else {
      res.destroy();
    }
  }
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(
    `listening ${typeof address === 'object' && address ? address.port : port}\n`,
  );
});
process.on('SIGTERM', () => {
  server.close(() => void pool.close().then(() => process.exit(0)));
  server.closeAllConnections();
});
