/**
 * Canonical JSON (object keys sorted by UTF-16 code units, no whitespace, as in RFC 8785 for
 * the values a snapshot holds: strings, integers, booleans, arrays, objects) and the snapshot
 * version derived from it. Equal snapshots get equal versions whatever order their keys were
 * built in, so a gateway or the operator can skip a no-op reload by comparing versions.
 */

import { createHash } from 'node:crypto';
import type { Snapshot } from '../snapshot/schema.ts';

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new TypeError('canonical JSON cannot hold a non-finite number');
    }
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    // Like JSON.stringify: an undefined item becomes null, so positions keep their meaning.
    return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  }
  const entries = Object.entries(value)
    .filter(([, item]) => item !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
}

/** sha256 (lowercase hex) of the canonical JSON of the snapshot without its `version` field. */
export function snapshotVersion(snapshot: Omit<Snapshot, 'version'> | Snapshot): string {
  const { version: _ignored, ...rest } = snapshot as Snapshot;
  return createHash('sha256').update(canonicalJson(rest), 'utf8').digest('hex');
}
