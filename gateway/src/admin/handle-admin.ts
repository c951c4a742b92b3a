/**
 * The operations port (separate from the main port, so it is never exposed with the Apis):
 * - `GET /healthz`: 200 while the process serves requests (liveness);
 * - `GET /readyz`: 200 with the snapshot version once one is loaded, 503 before (readiness:
 *   Kubernetes sends no traffic to a gateway that would answer 503 to everything);
 * - `GET /metrics`: the Prometheus text of the Registry given to the gateway.
 * Anything else is 404; methods other than GET / HEAD are 405.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { pathWithoutQuery } from '../observability/logger.ts';

export interface AdminContext {
  registry: Registry;
  logger: Logger;
  /** The snapshot version being served, undefined before the first load. */
  loadedVersion(): string | undefined;
}

/** Never rejects. */
export async function handleAdminRequest(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: AdminContext,
): Promise<void> {
  try {
    const path = pathWithoutQuery(req.url ?? '');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD' });
    } else if (path === '/healthz') {
      send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
    } else if (path === '/readyz') {
      const version = ctx.loadedVersion();
      const body = version === undefined ? { ready: false } : { ready: true, version };
      send(res, version === undefined ? 503 : 200, 'application/json', JSON.stringify(body));
    } else if (path === '/metrics') {
      send(res, 200, ctx.registry.contentType, await ctx.registry.metrics());
    } else {
      send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    }
  } catch (error) {
    ctx.logger.error({ err: error }, 'admin request failed');
    if (res.headersSent) res.destroy();
    else send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
  }
}

function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { ...headers, 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(body);
}
