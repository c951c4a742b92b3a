/**
 * Step 1 of the request pipeline: which kind of endpoint a path names. The gateway's own
 * endpoints come first, so an Api's document can never shadow them; then the Api whose
 * `basePath` is the longest segment-wise prefix of the raw path.
 *
 * Reserved endpoints:
 * - `/.well-known/jwks`
 * - `/.well-known/oauth-authorization-server{basePath}` (RFC 8414 §3: the well-known segment is
 *   inserted before the issuer's path)
 * - `{basePath}/oauth2/v2/token`, `{basePath}/oauth2/v2/authorize` (and its steps
 *   `/authorize/callback`, `/authorize/consent`: oauth/authorize/services.ts)
 */

import { AUTHORIZATION_PATHS, type AuthorizationStep } from '../oauth/authorize/services.ts';
import { METADATA_PATH_PREFIX } from '../oauth/metadata.ts';
import { TOKEN_ENDPOINT_PATH } from '../oauth/token-endpoint.ts';
import type { LoadedSnapshot } from '../snapshot/loaded.ts';
import type { SnapshotApi } from '../snapshot/schema.ts';
import { hasDotSegment, notFound } from './request-target.ts';

export const JWKS_PATH = '/.well-known/jwks';

export type Route =
  | { kind: 'jwks' }
  | { kind: 'authorization-server-metadata'; api: SnapshotApi }
  | { kind: 'token'; api: SnapshotApi }
  | { kind: 'authorize'; api: SnapshotApi; step: AuthorizationStep }
  /** Anything else under a basePath; `rest` is the raw path after it (may be empty). */
  | { kind: 'api'; api: SnapshotApi; rest: string };

/** Throws `not_found` for a path with a dot-segment or outside every basePath. */
export function routeRequest(path: string, loaded: LoadedSnapshot): Route {
  if (hasDotSegment(path)) throw notFound();
  if (path === JWKS_PATH) return { kind: 'jwks' };
  if (path.startsWith(`${METADATA_PATH_PREFIX}/`)) {
    const match = loaded.findApi(path.slice(METADATA_PATH_PREFIX.length));
    if (match && match.rest === '')
      return { kind: 'authorization-server-metadata', api: match.api };
    throw notFound();
  }
  const match = loaded.findApi(path);
  if (!match) throw notFound();
  if (match.rest === TOKEN_ENDPOINT_PATH) return { kind: 'token', api: match.api };
  for (const [step, rest] of Object.entries(AUTHORIZATION_PATHS) as Array<
    [AuthorizationStep, string]
  >) {
    if (match.rest === rest) return { kind: 'authorize', api: match.api, step };
  }
  return { kind: 'api', api: match.api, rest: match.rest };
}
