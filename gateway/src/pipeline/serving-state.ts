/**
 * Everything a request needs from one snapshot, prepared at `update()` (off the request path)
 * and swapped in as one reference: a request keeps the state it started with until it ends,
 * so a reload never changes the rules under a request in flight.
 *
 * A reload prepares only the Apis that changed: an Api equal to the one already prepared (the
 * same object, as the Kubernetes source hands over for shards it did not parse again, or the
 * same JSON) keeps its matcher and backend URL. Prepared Apis are immutable, so the old and the
 * new state can share them.
 */

import type { LoadedKeys } from '../oauth/keys.ts';
import type { PoolSet, UpstreamPools } from '../proxy/pools.ts';
import type { LoadedSnapshot } from '../snapshot/loaded.ts';
import type { SnapshotApi } from '../snapshot/schema.ts';
import { runInSlices, runToCompletion, type Sliced } from '../snapshot/time-slices.ts';
import { type ApiKeyLocation, apiKeyLocations } from './authenticate.ts';
import { compileOperationMatcher, type OperationMatcher } from './match-operation.ts';

export interface PreparedApi {
  api: SnapshotApi;
  matcher: OperationMatcher;
  backendUrl: URL;
  /** `protocol//host:port` of the backend: the key of its connection pool. */
  origin: string;
  apiKeyLocations: ApiKeyLocation[];
  /** Names of the headers that carry this Api's API keys: never forwarded to the backend. */
  apiKeyHeaders: ReadonlySet<string>;
}

export interface ServingState {
  loaded: LoadedSnapshot;
  keys: LoadedKeys;
  /** By Api id. */
  apis: ReadonlyMap<string, PreparedApi>;
  pools: PoolSet;
}

/**
 * Pure: compiles every Api, reusing from `previous` each one whose content did not change.
 * Throws when an Api cannot be served (e.g. a backend URL that is not http(s)).
 */
export function prepareApis(
  loaded: LoadedSnapshot,
  previous?: ReadonlyMap<string, PreparedApi>,
): Map<string, PreparedApi> {
  return runToCompletion(prepareEachApi(loaded, previous));
}

/** `prepareApis` in slices of about `sliceMs`, the event loop running between them. */
export function prepareApisInSlices(
  loaded: LoadedSnapshot,
  previous?: ReadonlyMap<string, PreparedApi>,
  sliceMs?: number,
): Promise<Map<string, PreparedApi>> {
  return runInSlices(prepareEachApi(loaded, previous), sliceMs);
}

function* prepareEachApi(
  loaded: LoadedSnapshot,
  previous: ReadonlyMap<string, PreparedApi> | undefined,
): Sliced<Map<string, PreparedApi>> {
  const apis = new Map<string, PreparedApi>();
  for (const api of loaded.snapshot.apis) {
    const before = previous?.get(api.id);
    if (before && sameApi(before.api, api)) {
      // Rebound to this snapshot's object, so the previous one can be collected.
      apis.set(api.id, before.api === api ? before : { ...before, api });
    } else {
      apis.set(api.id, prepareApi(api));
    }
    // An Api compiled or compared costs ~10-50 µs: pause every few dozen.
    if (apis.size % 32 === 0) yield;
  }
  return apis;
}

/** Same object, or the same content (same JSON: the snapshot is plain JSON data). */
function sameApi(before: SnapshotApi, after: SnapshotApi): boolean {
  return before === after || JSON.stringify(before) === JSON.stringify(after);
}

function prepareApi(api: SnapshotApi): PreparedApi {
  const backendUrl = new URL(api.backend.url);
  if (backendUrl.protocol !== 'http:' && backendUrl.protocol !== 'https:') {
    throw new Error(`Api ${api.id}: backend URL must be http or https.`);
  }
  const locations = apiKeyLocations(api);
  return {
    api,
    matcher: compileOperationMatcher(api.paths),
    backendUrl,
    origin: backendUrl.origin,
    apiKeyLocations: locations,
    apiKeyHeaders: new Set(locations.filter((l) => l.in === 'header').map((l) => l.name)),
  };
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
