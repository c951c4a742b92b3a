/**
 * Splitting a snapshot into ConfigMap-sized shards, and putting it back together.
 *
 * Every Api, credential and IdP lands in the shard chosen by a hash of its id, so a change to
 * one Subscription rewrites exactly one shard. The shard count is a power of two chosen from the
 * total size, leaving room to grow before it must change (a change of count rewrites all). The
 * manifest names each shard with the sha256 of its content: a reader swaps only once every shard
 * it names is present with that content, so a half-written update is never served.
 *
 * `snapshot.objects` (what the operator needs for `Ready`) is not shipped to gateways: a gateway
 * reports the version it loaded, and the operator knows what that version contains.
 *
 * A gateway reads a new version with a `ShardReader` from `HeldShard`s: each shard ConfigMap's
 * text until it is parsed, then only its sha256 and what it parsed to. A one-Subscription change
 * parses one shard, and everything in the shards that did not change is handed over as the very
 * same objects as before (the gateway then reuses what it prepared from them); the snapshot's
 * JSON (158 MiB at 10k Apis / 100k Subscriptions) is not kept once parsed.
 */

import { createHash, hash } from 'node:crypto';
import {
  type RateLimitRule,
  SNAPSHOT_FORMAT,
  type Snapshot,
  type SnapshotApi,
  type SnapshotCredential,
  type SnapshotGrant,
  type SnapshotIdp,
} from './schema.ts';
import { runInSlices, runToCompletion, type Sliced } from './time-slices.ts';

export const MAX_SHARD_BYTES = 256 * 1024;

export interface ShardManifest {
  format: typeof SNAPSHOT_FORMAT;
  environment: string;
  version: string;
  shards: Array<{ index: number; sha256: string }>;
}

export interface ShardContent {
  apis: SnapshotApi[];
  credentials: SnapshotCredential[];
  idps: SnapshotIdp[];
}

export interface SplitSnapshot {
  manifest: ShardManifest;
  /** Serialized shard documents, by index. */
  shards: string[];
}

export function splitSnapshot(snapshot: Snapshot, maxShardBytes = MAX_SHARD_BYTES): SplitSnapshot {
  const items = [
    ...snapshot.apis.map((item) => ({
      kind: 'apis' as const,
      id: item.id,
      item,
      json: JSON.stringify(item),
    })),
    ...snapshot.credentials.map((item) => ({
      kind: 'credentials' as const,
      id: item.id,
      item,
      json: JSON.stringify(item),
    })),
    ...snapshot.idps.map((item) => ({
      kind: 'idps' as const,
      id: item.id,
      item,
      json: JSON.stringify(item),
    })),
  ];
  const largest = Math.max(0, ...items.map((entry) => entry.json.length));
  if (largest + 64 > maxShardBytes) {
    throw new Error(
      `one snapshot item is ${largest} bytes, more than a shard holds (${maxShardBytes})`,
    );
  }
  const total = items.reduce((sum, entry) => sum + entry.json.length + 1, 0);
  // Aim for half-full shards so that growth rarely changes the count.
  let count = 1;
  while (count * (maxShardBytes / 2) < total) count *= 2;

  for (;;) {
    const buckets: ShardContent[] = Array.from({ length: count }, () => ({
      apis: [],
      credentials: [],
      idps: [],
    }));
    for (const entry of items) {
      const bucket = buckets[bucketOf(`${entry.kind}/${entry.id}`, count)] as ShardContent;
      (bucket[entry.kind] as unknown[]).push(entry.item);
    }
    const shards = buckets.map((bucket) => JSON.stringify(bucket));
    if (shards.every((shard) => Buffer.byteLength(shard) <= maxShardBytes)) {
      return {
        manifest: {
          format: SNAPSHOT_FORMAT,
          environment: snapshot.environment,
          version: snapshot.version,
          shards: shards.map((shard, index) => ({ index, sha256: sha256(shard) })),
        },
        shards,
      };
    }
    count *= 2; // an unlucky hash spread: spread thinner
  }
}

export type AssembleResult =
  | { ok: true; snapshot: Snapshot }
  | { ok: false; reason: 'ShardMissing' | 'ShardMismatch' | 'FormatUnsupported'; message: string };

/** Rebuilds the snapshot from a manifest and the shard documents found, by index. */
export function assembleSnapshot(
  manifest: ShardManifest,
  shards: ReadonlyMap<number, string>,
): AssembleResult {
  const result = runToCompletion(
    assembleFrom(manifest, shards, (text, expected) =>
      sha256(text) === expected ? (JSON.parse(text) as ShardContent) : undefined,
    ),
  );
  if (!result.ok) return result;
  const { snapshot } = result;
  snapshot.apis.sort(byId);
  snapshot.credentials.sort(byId);
  snapshot.idps.sort(byId);
  return result;
}

/**
 * One shard ConfigMap's content as a gateway holds it: its text until a `ShardReader` has checked
 * it against a manifest and parsed it, then its sha256 and the parsed content, the text dropped
 * (the parsed content is what the gateway serves anyway; keeping the text too would double the
 * memory a snapshot takes, only to compare it). The reader fills these fields in: one HeldShard
 * per ConfigMap version, given to one reader.
 */
export interface HeldShard {
  /** Until parsed. */
  text: string | undefined;
  /** The text's sha256, once computed. */
  sha256: string | undefined;
  /** Once parsed (shared with the snapshots assembled from it: never mutated). */
  content: ShardContent | undefined;
}

export function holdShard(text: string): HeldShard {
  return { text, sha256: undefined, content: undefined };
}

/**
 * Assembles versions one after the other, keeping what it parsed of the last one it assembled.
 * One reader per environment, held by the gateway's Kubernetes source.
 */
export interface ShardReader {
  /**
   * As `assembleSnapshot`, from held shards, except: a shard is hashed and parsed once (the
   * HeldShard then keeps the content, not the text), and a shard whose sha256 is that of a shard
   * of the previous version is not parsed again either (its content objects are reused, so they
   * must not be mutated); identical grants are one shared object (a Product's grants repeat in
   * every one of its Subscriptions); and the items come in shard order (each shard sorted by
   * id), not sorted as a whole: sorting 100k credentials would block the event loop ~200 ms,
   * and nothing in the gateway depends on their order.
   *
   * A shard is parsed only once it matches the manifest, so a shard written ahead of its
   * manifest keeps its text until the manifest that names it arrives.
   */
  assemble(manifest: ShardManifest, shards: ReadonlyMap<number, HeldShard>): AssembleResult;
  /**
   * `assemble` in slices of about `sliceMs`, the event loop running between them: what a
   * change to every shard (a new shard count, a Product's limit repeated in all its
   * Subscriptions) needs, since parsing all of 10k Apis / 100k Subscriptions takes seconds.
   * One call at a time per reader.
   */
  assembleInSlices(
    manifest: ShardManifest,
    shards: ReadonlyMap<number, HeldShard>,
    sliceMs?: number,
  ): Promise<AssembleResult>;
}

export function createShardReader(): ShardReader {
  /** The content of the last version assembled, by sha256. */
  let parsed = new Map<string, ShardContent>();
  function* assemble(
    manifest: ShardManifest,
    shards: ReadonlyMap<number, HeldShard>,
  ): Sliced<AssembleResult> {
    const next = new Map<string, ShardContent>();
    const seen = new Map<string, unknown>();
    const result = yield* assembleFrom(manifest, shards, (held, expected) => {
      if (held.sha256 === undefined && held.text !== undefined) held.sha256 = sha256(held.text);
      if (held.sha256 !== expected) return undefined;
      if (held.content === undefined && held.text !== undefined) {
        held.content =
          parsed.get(expected) ??
          next.get(expected) ??
          shareRepeated(JSON.parse(held.text) as ShardContent, seen);
        held.text = undefined;
      }
      if (held.content !== undefined) next.set(expected, held.content);
      return held.content;
    });
    // Only a complete version replaces the cache: a half-written one keeps the last good.
    if (result.ok) parsed = next;
    return result;
  }
  return {
    assemble: (manifest, shards) => runToCompletion(assemble(manifest, shards)),
    assembleInSlices: (manifest, shards, sliceMs) =>
      runInSlices(assemble(manifest, shards), sliceMs),
  };
}

/**
 * Replaces, in place, each grant by the first equal one (same JSON) seen in `seen`, and within
 * each new grant its scope list and rate-limit rules likewise: a Product's grants repeat in
 * every one of its Subscriptions, and its rules in each member Api's grant (280k grants hold 47k
 * distinct ones at 10k Apis / 100k Subscriptions: 130 MiB less). Each credential's namespace
 * string too. `content` was just parsed:
 * nobody holds it yet. JSON keys: exact, whatever the strings hold and whatever fields the
 * schema gains.
 */
function shareRepeated(content: ShardContent, seen: Map<string, unknown>): ShardContent {
  const intern = <T>(key: string, value: T): T => {
    const shared = seen.get(key) as T | undefined;
    if (shared !== undefined) return shared;
    seen.set(key, value);
    return value;
  };
  for (const credential of content.credentials) {
    // One string per namespace rather than per credential (100k of them in 1,000 namespaces: 5 MiB).
    credential.namespace = intern(`n${credential.namespace}`, credential.namespace);
    const { grants } = credential;
    for (let i = 0; i < grants.length; i++) {
      const grant = grants[i] as SnapshotGrant;
      const shared = intern(`g${JSON.stringify(grant)}`, grant);
      if (shared !== grant) {
        grants[i] = shared;
        continue;
      }
      grant.scopes = intern(`s${JSON.stringify(grant.scopes)}`, grant.scopes);
      const rules = grant.rateLimit;
      for (let r = 0; r < rules.length; r++) {
        const rule = rules[r] as RateLimitRule;
        rules[r] = intern(`r${JSON.stringify(rule)}`, rule);
      }
    }
  }
  return content;
}

function* assembleFrom<S>(
  manifest: ShardManifest,
  shards: ReadonlyMap<number, S>,
  contentOf: (shard: S, expectedSha256: string) => ShardContent | undefined,
): Sliced<AssembleResult> {
  if (manifest.format !== SNAPSHOT_FORMAT) {
    return {
      ok: false,
      reason: 'FormatUnsupported',
      message: `snapshot format ${manifest.format} is not ${SNAPSHOT_FORMAT}`,
    };
  }
  const snapshot: Snapshot = {
    format: SNAPSHOT_FORMAT,
    environment: manifest.environment,
    version: manifest.version,
    apis: [],
    credentials: [],
    idps: [],
    objects: [],
  };
  for (const { index, sha256: expected } of manifest.shards) {
    const shard = shards.get(index);
    if (shard === undefined) {
      return {
        ok: false,
        reason: 'ShardMissing',
        message: `shard ${index} of version ${manifest.version} is missing`,
      };
    }
    const content = contentOf(shard, expected);
    if (!content) {
      return {
        ok: false,
        reason: 'ShardMismatch',
        message: `shard ${index} does not match version ${manifest.version}`,
      };
    }
    for (const api of content.apis) snapshot.apis.push(api);
    for (const credential of content.credentials) snapshot.credentials.push(credential);
    for (const idp of content.idps) snapshot.idps.push(idp);
    yield;
  }
  return { ok: true, snapshot };
}

function byId(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function bucketOf(key: string, count: number): number {
  return createHash('sha256').update(key).digest().readUInt32BE(0) % count;
}

function sha256(text: string): string {
  return hash('sha256', text, 'hex');
}
