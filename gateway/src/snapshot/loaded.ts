/**
 * A snapshot indexed for request time. Built once per reload (off the request path, in slices
 * that let requests run between them: `loadSnapshotInSlices`), then swapped in atomically: a
 * request holds the LoadedSnapshot it started with until it ends.
 *
 * Only what requests look up is indexed: credentials by client id, API keys by hash, Apis by
 * basePath and id, IdPs by id. A credential's grant on an Api is found in its own (short,
 * sorted) grant list, which costs no index for the 100k-Subscription case.
 */

import { hash } from 'node:crypto';
import type {
  HashedSecret,
  Snapshot,
  SnapshotApi,
  SnapshotCredential,
  SnapshotGrant,
  SnapshotIdp,
} from './schema.ts';
import { runInSlices, runToCompletion, type Sliced } from './time-slices.ts';

export interface ApiKeyMatch {
  credential: SnapshotCredential;
  key: HashedSecret;
}

export interface LoadedSnapshot {
  readonly snapshot: Snapshot;
  readonly apisById: ReadonlyMap<string, SnapshotApi>;
  readonly credentialsByClientId: ReadonlyMap<string, SnapshotCredential>;
  readonly idpsById: ReadonlyMap<string, SnapshotIdp>;
  /** The Api whose basePath is the longest segment-wise prefix of `path`, and the rest of the path. */
  findApi(path: string): { api: SnapshotApi; rest: string } | undefined;
  /** The credential holding this API key (hash lookup: the plaintext is never stored). */
  findApiKey(apiKey: string): ApiKeyMatch | undefined;
  /** The credential's grant on an Api, if it has one. */
  grantOf(credential: SnapshotCredential, apiId: string): SnapshotGrant | undefined;
}

export function sha256Hex(value: string): string {
  // One-shot: a third of `createHash().update().digest()`'s cost on request-sized input.
  return hash('sha256', value, 'hex');
}

/** Indexes a snapshot in one go (small snapshots, tests). */
export function loadSnapshot(snapshot: Snapshot): LoadedSnapshot {
  return runToCompletion(indexSnapshot(snapshot));
}

/** Indexes a snapshot in slices of about `sliceMs` each, the event loop running between them. */
export function loadSnapshotInSlices(
  snapshot: Snapshot,
  sliceMs?: number,
): Promise<LoadedSnapshot> {
  return runInSlices(indexSnapshot(snapshot), sliceMs);
}

/** Items indexed between two points where the work may pause. */
const ITEMS_PER_STEP = 500;

/** Grant lists up to this length are searched in place; longer ones get a map on first use. */
const SCANNED_GRANTS = 16;

function* indexSnapshot(snapshot: Snapshot): Sliced<LoadedSnapshot> {
  const apisById = new Map<string, SnapshotApi>();
  const apisByBasePath = new Map<string, SnapshotApi>();
  for (const api of snapshot.apis) {
    apisById.set(api.id, api);
    apisByBasePath.set(api.basePath, api);
  }
  const idpsById = new Map(snapshot.idps.map((idp) => [idp.id, idp]));
  yield;
  const credentialsByClientId = new Map<string, SnapshotCredential>();
  // The credential only: its key (one of ~3) is found again on a hit, which spares an object
  // per key (200k of them for 100k Subscriptions).
  const apiKeys = new Map<string, SnapshotCredential>();
  let count = 0;
  for (const credential of snapshot.credentials) {
    credentialsByClientId.set(credential.clientId, credential);
    for (const key of credential.apiKeys) apiKeys.set(key.sha256, credential);
    if (++count % ITEMS_PER_STEP === 0) yield;
  }
  /** For the rare credential granted on many Apis (a Product of dozens), built when first asked. */
  const longGrantLists = new WeakMap<readonly SnapshotGrant[], Map<string, SnapshotGrant>>();

  return {
    snapshot,
    apisById,
    credentialsByClientId,
    idpsById,
    findApi(path) {
      // Walk from the full path down to `/x`, segment by segment: the longest basePath wins,
      // and `/api` never matches `/apiary` (prefixes end at a segment boundary).
      let candidate = path;
      while (candidate.length > 1) {
        const api = apisByBasePath.get(candidate);
        if (api) return { api, rest: path.slice(candidate.length) };
        const slash = candidate.lastIndexOf('/');
        if (slash <= 0) break;
        candidate = candidate.slice(0, slash);
      }
      return undefined;
    },
    findApiKey(apiKey) {
      const hash = sha256Hex(apiKey);
      const credential = apiKeys.get(hash);
      const key = credential?.apiKeys.find((candidate) => candidate.sha256 === hash);
      return credential && key ? { credential, key } : undefined;
    },
    grantOf(credential, apiId) {
      const { grants } = credential;
      if (grants.length <= SCANNED_GRANTS) return grants.find((grant) => grant.apiId === apiId);
      let byApi = longGrantLists.get(grants);
      if (!byApi) {
        byApi = new Map(grants.map((grant) => [grant.apiId, grant]));
        longGrantLists.set(grants, byApi);
      }
      return byApi.get(apiId);
    },
  };
}
