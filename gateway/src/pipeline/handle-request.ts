/**
 * The request pipeline of the main port. Every request runs these steps in this order, each a
 * module of this folder; the first that throws a GatewayError decides the answer (errors.ts
 * gives its status, body and `WWW-Authenticate`):
 *
 * 1. route            (route.ts): the raw path → a reserved endpoint (JWKS, RFC 8414 metadata,
 *                     token, authorize), answered by reserved-endpoints.ts, or an Api. Dot-
 *                     segments and paths outside every basePath: 404.
 * 2. match operation  (match-operation.ts): path template + method → the OpenAPI operation;
 *                     404 / 405 + `Allow` otherwise. Nothing unmatched reaches the backend.
 * 3. authenticate     (authenticate.ts): every credential presented is verified; an invalid
 *                     one is 401 even where authentication is optional.
 * 4. authorize        (authorize.ts): the operation's `security` (alternatives OR, requirements
 *                     AND, scopes) → the consumer, or 401 / 403 `insufficient_scope`.
 * 5. rate limit       (rate-limit.ts): every limit of the consumer's grant; 429 + `Retry-After`.
 * 6. proxy            (../proxy): the backend receives the request without the consumer's
 *                     credentials, with `X-Forwarded-*` and `X-Apiway-*` headers; 502 / 504.
 *
 * Each step reads only the ServingState the request started with.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { VerifiedTokenCache } from '../oauth/access-token.ts';
import type { AuthorizationServices } from '../oauth/authorize/services.ts';
import type { GatewayMetrics } from '../observability/metrics.ts';
import { forwardToBackend } from '../proxy/forward.ts';
import { upstreamRequestHeaders } from '../proxy/forward-headers.ts';
import { upstreamPath } from '../proxy/upstream-url.ts';
import type { RateLimiter } from '../ratelimit/limiter.ts';
import { collectCredentials, verifyCredentials } from './authenticate.ts';
import { authorize } from './authorize.ts';
import { enforceRateLimit } from './rate-limit.ts';
import { parseRequestTarget } from './request-target.ts';
import { serveReservedEndpoint } from './reserved-endpoints.ts';
import { routeRequest } from './route.ts';
import type { ServingState } from './serving-state.ts';

/** The query parameters consumed when no API key came in the query: the usual case. */
const NO_QUERY_KEYS: ReadonlySet<string> = new Set();

export interface PipelineContext {
  state: ServingState;
  requestId: string;
  now: Date;
  limiter: RateLimiter;
  publicUrl: string;
  maxTokenRequestBytes: number;
  metrics: GatewayMetrics;
  /** Authorization code flow and external IdPs (issue 6); absent: neither is available. */
  authorization?: AuthorizationServices;
  /** Access tokens already verified, for the gateway's life (safe across reloads: see access-token.ts). */
  verifiedTokens?: VerifiedTokenCache;
  /** Filled in as the steps learn it; the access log line and metrics read it afterwards. */
  record: RequestRecord;
}

/** What the access log says about a request: identifiers only, never a credential or a query string. */
export interface RequestRecord {
  api?: string;
  /** `METHOD /template` of the matched operation. */
  operation?: string;
  /** The consumer's Subscription (`namespace/name`). */
  subscription?: string;
  /** Bounded code of a backend failure (upstream-errors.ts). */
  upstreamError?: string;
  /** The client went away before the response completed. */
  aborted?: boolean;
  /** The error code the request was answered with, if any. */
  error?: string;
  /** The limiter decided without its shared store. */
  rateLimitDegraded?: boolean;
}

/** Runs the pipeline; answers the request itself, or throws a GatewayError for the caller to answer. */
export async function handleGatewayRequest(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: PipelineContext,
): Promise<void> {
  const { state, record } = ctx;
  const responseHeaders: Record<string, string> = { 'x-request-id': ctx.requestId };

  // 1. route
  const target = parseRequestTarget(req.url);
  const route = routeRequest(target.path, state.loaded);
  const query = new URLSearchParams(target.query ?? '');
  if (route.kind !== 'api') {
    if (route.kind !== 'jwks') record.api = route.api.id;
    await serveReservedEndpoint(route, req, res, query, {
      state,
      publicUrl: ctx.publicUrl,
      now: ctx.now,
      maxTokenRequestBytes: ctx.maxTokenRequestBytes,
      headers: responseHeaders,
      ...(ctx.authorization ? { authorization: ctx.authorization } : {}),
      rawQuery: target.query ?? '',
    });
    return;
  }
  const { api } = route;
  record.api = api.id;
  const prepared = state.apis.get(api.id);
  if (!prepared) throw new Error(`Api ${api.id} was not prepared.`);

  // 2. match operation
  const method = req.method ?? '';
  const matched = prepared.matcher.match(route.rest, method);
  record.operation = `${matched.method} ${matched.template}`;

  // 3. authenticate
  const presented = collectCredentials(req.headers, query, prepared.apiKeyLocations);
  const authentication = await verifyCredentials(presented, {
    api,
    loaded: state.loaded,
    keys: state.keys,
    publicUrl: ctx.publicUrl,
    now: ctx.now,
    ...(ctx.authorization
      ? { idps: ctx.authorization.idps, revocations: ctx.authorization.store }
      : {}),
    ...(ctx.verifiedTokens ? { verifiedTokens: ctx.verifiedTokens } : {}),
  });

  // 4. authorize
  const consumer = authorize(matched.operation, api, authentication);
  if (consumer) record.subscription = consumer.credential.id;

  // 5. rate limit
  const limited = await enforceRateLimit(ctx.limiter, consumer);
  if (limited.decision?.degraded) record.rateLimitDegraded = true;
  Object.assign(responseHeaders, limited.headers);

  // 6. proxy
  const queryKeys = presented.apiKeys.filter((k) => k.location.in === 'query');
  const consumedQuery =
    queryKeys.length === 0 ? NO_QUERY_KEYS : new Set(queryKeys.map((k) => k.location.name));
  const result = await forwardToBackend({
    req,
    res,
    dispatcher: state.pools.get(prepared.origin),
    method,
    path: upstreamPath(prepared.backendUrl, route.rest, target.query, consumedQuery),
    headers: upstreamRequestHeaders(req.rawHeaders, {
      consumedHeaders: prepared.apiKeyHeaders,
      consumedAuthorization: presented.bearer !== undefined,
      forwardedFor: req.socket.remoteAddress,
      forwardedProto: (req.socket as TLSSocket).encrypted ? 'https' : 'http',
      forwardedHost: req.headers.host,
      forwardedPrefix: api.basePath,
      requestId: ctx.requestId,
      consumer: consumer && {
        clientId: consumer.clientId,
        subscription: consumer.credential.id,
        scopes: consumer.scopes,
      },
    }),
    timeoutMs: api.backend.timeoutMs,
    responseHeaders,
  });
  if (result.outcome === 'failed') {
    record.upstreamError = result.failure.code;
    ctx.metrics.upstreamErrors.inc({ api: api.id, code: result.failure.code });
    throw result.failure.error;
  }
  if (result.outcome === 'client-gone' || result.cut === 'client-gone') {
    record.aborted = true;
  } else if (result.cut !== undefined) {
    // The backend failed after its response started: the client sees a cut connection.
    record.upstreamError = result.cut;
    ctx.metrics.upstreamErrors.inc({ api: api.id, code: result.cut });
  }
}
