/**
 * The backend of every data-path scenario, in its own process: a minimal `node:http` server
 * answering every request with the same small JSON. Measured alone it is the physical limit of
 * this machine for one Node process; every proxy in front of it can only be slower.
 *
 *   node bench/servers/upstream.ts PORT      (prints "listening PORT" once ready)
 */

import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 0);
const body = Buffer.from('{"id":"42","name":"a design","status":"ok"}');

const server = createServer((req, res) => {
  // Drain whatever body was sent, then answer (there is none in the scenarios).
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
});
// Longer than any proxy's idle timeout, so proxies (not the upstream) decide when to close.
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(
    `listening ${typeof address === 'object' && address ? address.port : port}\n`,
  );
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
