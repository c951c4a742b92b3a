/**
 * Real HTTP servers on 127.0.0.1 for tests: a generic one taking a handler, and an echo backend
 * that answers every request with what it received (method, raw url, headers, body) and records it.
 */

import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RunningServer {
  server: Server;
  port: number;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Stops listening and drops every open connection. */
  close(): Promise<void>;
}

export async function startHttpServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>,
): Promise<RunningServer> {
  const server = createServer((req, res) => {
    Promise.resolve(handler(req, res)).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface EchoedRequest {
  method: string;
  /** The raw request target the backend received. */
  url: string;
  headers: IncomingHttpHeaders;
  /** Raw header list, names as sent. */
  rawHeaders: string[];
  body: string;
}

export interface EchoBackend extends RunningServer {
  /** Every request received, in order. */
  requests: EchoedRequest[];
}

/** Answers 200 with the JSON of the `EchoedRequest` (nothing for HEAD). */
export async function startEchoBackend(): Promise<EchoBackend> {
  const requests: EchoedRequest[] = [];
  const running = await startHttpServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const echoed: EchoedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    requests.push(echoed);
    const body = JSON.stringify(echoed);
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  });
  return { ...running, requests };
}

/** A port nothing listens on (for "connection refused" cases too): see free-port.ts. */
export { freePort } from './free-port.ts';
