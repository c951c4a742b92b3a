/**
 * Loopback ports for the servers tests and benchmarks start (gateways, upstreams, redis-server,
 * nginx): one helper for all of them.
 */

import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';

/** The shared Redis: never handed out, so nothing started here can take its port. */
const SHARED_REDIS_PORT = 6379;

/** Ports this process has handed out. */
const handedOut = new Set<number>();

/**
 * A loopback port that was free a moment ago, and that this process has not handed out before.
 * The kernel may offer a port again as soon as it is closed: a gateway given `--port` and
 * `--admin-port` from two calls in a row once got the same port twice and refused to start.
 * What remains is the race with another process binding the port before the server does.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    server.close();
    await once(server, 'close');
    if (port !== SHARED_REDIS_PORT && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}
