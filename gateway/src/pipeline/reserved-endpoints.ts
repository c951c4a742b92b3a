/**
 * The gateway's own endpoints (see route.ts for their paths): the environment's JWKS, each Api's
 * RFC 8414 metadata and token endpoint. The authorization endpoint is answered 404 until the
 * authorization code flow's sign-in is built (another issue).
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError } from '../errors.ts';
import { authorizationServerMetadata } from '../oauth/metadata.ts';
import { handleTokenRequest } from '../oauth/token-endpoint.ts';
import { readBody } from './read-body.ts';
import type { Route } from './route.ts';
import type { ServingState } from './serving-state.ts';

export interface ReservedContext {
  state: ServingState;
  publicUrl: string;
  now: Date;
  /** Largest token request body read, in bytes. */
  maxTokenRequestBytes: number;
  /** Headers every response carries (request id). */
  headers: Record<string, string>;
}

type ReservedRoute = Exclude<Route, { kind: 'api' }>;

/** Answers a reserved endpoint; returns the status sent. Throws GatewayError for the pipeline to answer. */
export async function serveReservedEndpoint(
  route: ReservedRoute,
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  ctx: ReservedContext,
): Promise<number> {
  switch (route.kind) {
    case 'jwks':
      requireGet(req);
      return sendJson(res, 200, ctx.state.keys.jwks(ctx.now), ctx.headers);
    case 'authorization-server-metadata':
      requireGet(req);
      return sendJson(res, 200, authorizationServerMetadata(route.api, ctx.publicUrl), ctx.headers);
    case 'token': {
      const method = req.method ?? '';
      // The endpoint refuses other methods itself; only a POST body is worth reading.
      const body = method === 'POST' ? await readBody(req, ctx.maxTokenRequestBytes) : '';
      const answer = await handleTokenRequest(
        { method, headers: req.headers, query, body },
        {
          api: route.api,
          loaded: ctx.state.loaded,
          keys: ctx.state.keys,
          publicUrl: ctx.publicUrl,
          now: ctx.now,
        },
      );
      res.writeHead(answer.status, { ...answer.headers, ...ctx.headers });
      res.end(answer.body);
      return answer.status;
    }
    case 'authorize':
      throw new GatewayError('not_found', 'The authorization endpoint is not available yet.');
  }
}

function requireGet(req: IncomingMessage): void {
  if (req.method === 'GET' || req.method === 'HEAD') return;
  throw new GatewayError('method_not_allowed', 'This endpoint accepts only GET.', {
    headers: { allow: 'GET, HEAD' },
  });
}

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string>,
): number {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
  return status;
}
