/**
 * Everything a request needs from one snapshot, prepared at `update()` (off the request path)
 * and swapped in as one reference: a request keeps the state it started with until it ends,
 * so a reload never changes the rules under a request in flight.
 */

import type { LoadedKeys } from '../oauth/keys.ts';
import type { PoolSet, UpstreamPools } from '../proxy/pools.ts';
import type { LoadedSnapshot } from '../snapshot/loaded.ts';
import type { SnapshotApi } from '../snapshot/schema.ts';
import { type ApiKeyLocation, apiKeyLocations } from './authenticate.ts';
import { compileOperationMatcher, type OperationMatcher } from './match-operation.ts';

export interface PreparedApi {
  api: SnapshotApi;
  matcher: OperationMatcher;
  backendUrl: URL;
  /** `protocol//host:port` of the backend: the key of its connection pool. */
  origin: string;
  apiKeyLocations: ApiKeyLocation[];
}

export interface ServingState {
  loaded: LoadedSnapshot;
  keys: LoadedKeys;
  /** By Api id. */
  apis: ReadonlyMap<string, PreparedApi>;
  pools: PoolSet;
}

/** Pure: compiles every Api. Throws when an Api cannot be served (e.g. a backend URL that is not http(s)). */
export function prepareApis(loaded: LoadedSnapshot): Map<string, PreparedApi> {
  const apis = new Map<string, PreparedApi>();
  for (const api of loaded.snapshot.apis) {
    const backendUrl = new URL(api.backend.url);
    if (backendUrl.protocol !== 'http:' && backendUrl.protocol !== 'https:') {
      throw new Error(`Api ${api.id}: backend URL must be http or https.`);
    }
    apis.set(api.id, {
      api,
      matcher: compileOperationMatcher(api.paths),
      backendUrl,
      origin: backendUrl.origin,
      apiKeyLocations: apiKeyLocations(api),
    });
  }
  return apis;
}

export function servingState(
  loaded: LoadedSnapshot,
  keys: LoadedKeys,
  apis: Map<string, PreparedApi>,
  pools: UpstreamPools,
): ServingState {
  const origins = [...apis.values()].map((prepared) => prepared.origin);
  return { loaded, keys, apis, pools: pools.acquire(origins) };
}
