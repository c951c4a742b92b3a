/**
 * The gateway's own endpoints (see route.ts for their paths): the environment's JWKS, each Api's
 * RFC 8414 metadata, token endpoint (with CORS for the Api's single-page apps) and
 * authorization endpoint (oauth/authorize/: 404 when no IdpAssociation login is configured).
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatewayError } from '../errors.ts';
import { handleAuthorizationStep } from '../oauth/authorize/authorize-endpoint.ts';
import type { AuthorizationServices } from '../oauth/authorize/services.ts';
import { tokenCorsHeaders, tokenPreflight } from '../oauth/authorize/token-cors.ts';
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
  /** The authorization code flow; absent: its endpoint is 404 and its grant unsupported. */
  authorization?: AuthorizationServices;
  /** The raw query string (without `?`). */
  rawQuery?: string;
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
      if (method === 'OPTIONS') {
        const preflight = tokenPreflight(req.headers, route.api, ctx.state.loaded);
        res.writeHead(preflight.status, { ...preflight.headers, ...ctx.headers });
        res.end();
        return preflight.status;
      }
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
          ...(ctx.authorization ? { authorizationStore: ctx.authorization.store } : {}),
        },
      );
      const cors = tokenCorsHeaders(req.headers, route.api, ctx.state.loaded);
      res.writeHead(answer.status, { ...answer.headers, ...cors, ...ctx.headers });
      res.end(answer.body);
      return answer.status;
    }
    case 'authorize': {
      if (!ctx.authorization) {
        throw new GatewayError('not_found', 'The authorization endpoint is not available.');
      }
      const method = req.method ?? '';
      const body =
        route.step === 'consent' && method === 'POST'
          ? await readBody(req, ctx.maxTokenRequestBytes)
          : '';
      const answer = await handleAuthorizationStep(
        route.step,
        { method, headers: req.headers, query, rawQuery: ctx.rawQuery ?? '', body },
        {
          api: route.api,
          loaded: ctx.state.loaded,
          publicUrl: ctx.publicUrl,
          now: ctx.now,
          services: ctx.authorization,
        },
      );
      res.writeHead(answer.status, {
        ...answer.headers,
        ...ctx.headers,
        'content-length': String(Buffer.byteLength(answer.body)),
      });
      res.end(answer.body);
      return answer.status;
    }
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
