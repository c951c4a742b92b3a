/**
 * Which object generations each recently published snapshot version holds, per environment:
 * how the operator turns "gateway X serves version V" into "gateway X serves generation G of
 * this object" (gateways report versions; the shards they load do not carry `objects`).
 *
 * Kept in memory for the last `limit` versions of each environment. After a restart the
 * operator recompiles before anything reads this; the compiler is deterministic, so an
 * unchanged cluster yields the version the gateways already serve.
 */

import type { IncludedObject } from '../../../gateway/src/snapshot/schema.ts';
import { statusKey } from '../status/status-key.ts';

export interface SnapshotHistory {
  record(environment: string, version: string, objects: readonly IncludedObject[]): void;
  /** The generation of `key` (`Kind/namespace/name`) in that version; undefined when absent or unknown. */
  generationIn(environment: string, version: string, key: string): number | undefined;
}

export function createSnapshotHistory(limit = 32): SnapshotHistory {
  const environments = new Map<string, Map<string, Map<string, number>>>();
  return {
    record(environment, version, objects) {
      let versions = environments.get(environment);
      if (!versions) {
        versions = new Map();
        environments.set(environment, versions);
      }
      // Re-recording moves the version to the newest end (Map keeps insertion order).
      versions.delete(version);
      versions.set(
        version,
        new Map(objects.map((o) => [statusKey(o.kind, o.namespace, o.name), o.generation])),
      );
      while (versions.size > limit) versions.delete(versions.keys().next().value as string);
    },
    generationIn(environment, version, key) {
      return environments.get(environment)?.get(version)?.get(key);
    },
  };
}
