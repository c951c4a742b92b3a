/**
 * A snapshot indexed for request time. Built once per reload (off the request path), then
 * swapped in atomically: a request holds the LoadedSnapshot it started with until it ends.
 */

import { createHash } from 'node:crypto';
import type {
  HashedSecret,
  Snapshot,
  SnapshotApi,
  SnapshotCredential,
  SnapshotGrant,
  SnapshotIdp,
} from './schema.ts';

export interface ApiKeyMatch {
  credential: SnapshotCredential;
  key: HashedSecret;
}

export interface LoadedSnapshot {
  readonly snapshot: Snapshot;
  readonly apisById: ReadonlyMap<string, SnapshotApi>;
  readonly credentialsById: ReadonlyMap<string, SnapshotCredential>;
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
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

export function loadSnapshot(snapshot: Snapshot): LoadedSnapshot {
  const apisById = new Map(snapshot.apis.map((api) => [api.id, api]));
  const credentialsById = new Map(snapshot.credentials.map((c) => [c.id, c]));
  const credentialsByClientId = new Map(snapshot.credentials.map((c) => [c.clientId, c]));
  const idpsById = new Map(snapshot.idps.map((idp) => [idp.id, idp]));
  const apisByBasePath = new Map(snapshot.apis.map((api) => [api.basePath, api]));
  const apiKeys = new Map<string, ApiKeyMatch>();
  for (const credential of snapshot.credentials) {
    for (const key of credential.apiKeys) apiKeys.set(key.sha256, { credential, key });
  }
  const grants = new Map<string, SnapshotGrant>();
  for (const credential of snapshot.credentials) {
    for (const grant of credential.grants) grants.set(`${credential.id}\n${grant.apiId}`, grant);
  }

  return {
    snapshot,
    apisById,
    credentialsById,
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
      return apiKeys.get(sha256Hex(apiKey));
    },
    grantOf(credential, apiId) {
      return grants.get(`${credential.id}\n${apiId}`);
    },
  };
}
