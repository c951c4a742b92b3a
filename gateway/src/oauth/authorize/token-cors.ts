/**
 * CORS of the token endpoint, so a single-page app can redeem its code with `fetch`: the
 * origins allowed are those of the redirect URIs registered by the Api's authorization code
 * clients (a Subscription granted on this Api, not suspended). No credentials mode (the token
 * request carries no cookie), no exposed headers; preflights (`OPTIONS`) are answered for the
 * same origins. Other endpoints and origins get no CORS headers, so browsers keep the
 * same-origin policy.
 */

import type { IncomingHttpHeaders } from 'node:http';
import type { LoadedSnapshot } from '../../snapshot/loaded.ts';
import type { SnapshotApi } from '../../snapshot/schema.ts';

/** How long a browser may cache a preflight answer. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/** Whether `origin` is one of the Api's code-flow clients' redirect URI origins. */
export function isAllowedTokenOrigin(
  origin: string,
  api: SnapshotApi,
  loaded: LoadedSnapshot,
): boolean {
  for (const credential of loaded.snapshot.credentials) {
    const registration = credential.authorizationCode;
    if (!registration || credential.suspended || !loaded.grantOf(credential, api.id)) continue;
    for (const uri of registration.redirectUris) {
      if (URL.canParse(uri) && new URL(uri).origin === origin) return true;
    }
  }
  return false;
}

/** Headers to add to a token response (POST) for this request's Origin; empty when not allowed. */
export function tokenCorsHeaders(
  headers: IncomingHttpHeaders,
  api: SnapshotApi,
  loaded: LoadedSnapshot,
): Record<string, string> {
  const origin = headers.origin;
  // Every answer varies by Origin, allowed or not, so no cache serves one origin's to another.
  if (origin === undefined || origin === 'null' || !isAllowedTokenOrigin(origin, api, loaded)) {
    return { vary: 'Origin' };
  }
  return { 'access-control-allow-origin': origin, vary: 'Origin' };
}

/** The answer to `OPTIONS {basePath}/oauth2/v2/token`: 204, with CORS headers when the origin is allowed. */
export function tokenPreflight(
  headers: IncomingHttpHeaders,
  api: SnapshotApi,
  loaded: LoadedSnapshot,
): { status: number; headers: Record<string, string> } {
  const cors = tokenCorsHeaders(headers, api, loaded);
  if (cors['access-control-allow-origin'] === undefined) {
    return { status: 204, headers: { allow: 'POST, OPTIONS', ...cors } };
  }
  return {
    status: 204,
    headers: {
      allow: 'POST, OPTIONS',
      ...cors,
      'access-control-allow-methods': 'POST',
      'access-control-allow-headers': 'content-type',
      'access-control-max-age': String(PREFLIGHT_MAX_AGE_SECONDS),
    },
  };
}
