/**
 * The two halves of the scale scenario, each in its own process (started by scale.ts with a
 * large heap), so each one's memory is its own:
 *
 *   node bench/scale-worker.ts compile DIR APIS SUBSCRIPTIONS PARSE_SAMPLE
 *     the operator's side: generate the platform, parse a sample of documents, compile,
 *     split into shards, then change one Subscription and compile and split again. Writes the
 *     shards of both versions and a signing key set to DIR.
 *   node bench/scale-worker.ts load DIR
 *     the gateway's side: assemble the first version from its shards and load it into a
 *     gateway (`createGateway().update()`), then reload the second, with an event-loop probe
 *     running throughout; memory after each. Shards are held and read as the Kubernetes source
 *     holds and reads them: one `HeldShard` per shard ConfigMap version (its text until parsed,
 *     then its sha256 and parsed content), through one `ShardReader` (shards already parsed are
 *     not parsed again), in slices (`readSnapshotInSlices`).
 *
 * Each prints one line `RESULT {json}` on stdout.
 */

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createGateway } from '../gateway/src/app.ts';
import { compileSnapshot } from '../gateway/src/compiler/compile-snapshot.ts';
import { createOpenApiParser } from '../gateway/src/compiler/parse-openapi.ts';
import { generateSigningKey } from '../gateway/src/oauth/keys.ts';
import type { SigningKeySet } from '../gateway/src/oauth/signing-keys.ts';
import { createMemoryLimiter } from '../gateway/src/ratelimit/memory-store.ts';
import { objectKey } from '../gateway/src/resources/types.ts';
import {
  createShardReader,
  type HeldShard,
  holdShard,
  type ShardManifest,
  splitSnapshot,
} from '../gateway/src/snapshot/shards.ts';
import { syntheticPlatform } from './lib/synthetic.ts';

export interface CompileFigures {
  apis: number;
  products: number;
  subscriptions: number;
  generate_ms: number;
  parse: {
    documents_parsed: number;
    /** The first document, which also compiles the parser's schemas (a process start pays it once). */
    first_document_ms: number;
    /** Every later one. */
    ms_per_document: number;
    /** ms_per_document × every Api: what a cold start of the gather step costs. */
    estimated_all_documents_ms: number;
    /** The parsed sample equals the generated documents (so compiling the generated ones is fair). */
    matches_generated: boolean;
  };
  compile_ms: number;
  /** CPU time of the compile: on a shared machine, the figure that does not depend on the neighbours. */
  compile_cpu_ms: number;
  /** Apis / credentials the compiler accepted into the snapshot. */
  snapshot_apis: number;
  snapshot_credentials: number;
  recompile_one_change_ms: number;
  recompile_one_change_cpu_ms: number;
  split_ms: number;
  snapshot_bytes: number;
  shard_count: number;
  max_shard_bytes: number;
  one_subscription_change: {
    shards_rewritten: number;
    shard_count_unchanged: boolean;
  };
  compile_peak_rss_bytes: number;
}

export interface LoadFigures {
  /** Assemble (sha256 + JSON.parse of every shard, through a ShardReader) + `update()` of the first version. */
  initial_assemble_ms: number;
  initial_update_ms: number;
  initial_longest_block_ms: number;
  reload_assemble_ms: number;
  reload_update_ms: number;
  /** CPU time of assemble + update of the reload. */
  reload_cpu_ms: number;
  /** Longest event-loop stall while the second version was assembled and loaded. */
  reload_longest_block_ms: number;
  rss_after_load_bytes: number;
  rss_after_reload_bytes: number;
  heap_used_after_reload_bytes: number;
  peak_rss_bytes: number;
}

const print = (result: unknown) => process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
const elapsed = (start: number) => performance.now() - start;
/** CPU milliseconds (user + system) this process used since `start` (a process.cpuUsage()). */
const cpuSince = (start: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
};

async function compileSide(dir: string, apis: number, subscriptions: number, sample: number) {
  let start = performance.now();
  const platform = syntheticPlatform({ apis, subscriptions });
  const generateMs = elapsed(start);
  const { input } = platform;

  // Parse cost: a spread of the documents through the real gather-side parser (one parser, as
  // the operator holds one).
  const parseOpenApi = createOpenApiParser();
  const step = Math.max(1, Math.floor(input.apis.length / Math.max(1, sample)));
  const picked = input.apis.filter((_, index) => index % step === 0).slice(0, sample);
  let matches = true;
  let firstDocumentMs = Number.NaN;
  let restMs = 0;
  for (const [position, api] of picked.entries()) {
    const key = objectKey(api.metadata);
    start = performance.now();
    const parsed = await parseOpenApi(platform.documentText(key));
    // The first one pays for compiling the parser's validation schemas: counted apart.
    if (position === 0) firstDocumentMs = elapsed(start);
    else restMs += elapsed(start);
    const generated = input.openapi.get(key);
    if (!parsed.ok || !generated?.ok) matches = false;
    else if (JSON.stringify(parsed.document) !== JSON.stringify(generated.document))
      matches = false;
  }
  const msPerDocument = picked.length > 1 ? restMs / (picked.length - 1) : firstDocumentMs;

  start = performance.now();
  let cpu = process.cpuUsage();
  const first = compileSnapshot(input);
  const compileMs = elapsed(start);
  const compileCpuMs = cpuSince(cpu);
  start = performance.now();
  const split = splitSnapshot(first.snapshot);
  const splitMs = elapsed(start);

  // One Subscription changes (its scopes narrowed, as an edit in Git would): a new generation.
  const changed =
    input.subscriptions.find((subscription) => subscription.spec.api) ?? input.subscriptions[0];
  if (!changed) throw new Error('no Subscription to change');
  const target = input.apis.find(
    (api) =>
      api.metadata.name === changed.spec.api?.name &&
      api.metadata.namespace === changed.spec.api?.namespace,
  );
  const index = target ? input.apis.indexOf(target) : 0;
  const subscriptionsAfter = input.subscriptions.map((subscription) =>
    subscription === changed
      ? {
          ...subscription,
          metadata: { ...subscription.metadata, generation: 2 },
          spec: { ...subscription.spec, scopes: [`read:r${String(index).padStart(5, '0')}`] },
        }
      : subscription,
  );
  start = performance.now();
  cpu = process.cpuUsage();
  const second = compileSnapshot({ ...input, subscriptions: subscriptionsAfter });
  const recompileMs = elapsed(start);
  const recompileCpuMs = cpuSince(cpu);
  const secondSplit = splitSnapshot(second.snapshot);

  const hashes = (manifest: ShardManifest) => manifest.shards.map((shard) => shard.sha256);
  const before = hashes(split.manifest);
  const after = hashes(secondSplit.manifest);
  const rewritten = after.filter((hash, i) => hash !== before[i]).length;

  const keys: SigningKeySet = {
    keys: [
      await generateSigningKey('ES256', 'active'),
      await generateSigningKey('RS256', 'active'),
    ],
  };
  for (const [name, version] of [
    ['first', split],
    ['second', secondSplit],
  ] as const) {
    await mkdir(join(dir, name), { recursive: true });
    await writeFile(join(dir, name, 'manifest.json'), JSON.stringify(version.manifest));
    await Promise.all(
      version.shards.map((shard, i) => writeFile(join(dir, name, `shard-${i}.json`), shard)),
    );
  }
  await writeFile(join(dir, 'keys.json'), JSON.stringify(keys));

  const figures: CompileFigures = {
    apis: input.apis.length,
    products: input.products.length,
    subscriptions: input.subscriptions.length,
    generate_ms: generateMs,
    parse: {
      documents_parsed: picked.length,
      first_document_ms: firstDocumentMs,
      ms_per_document: msPerDocument,
      estimated_all_documents_ms: msPerDocument * input.apis.length,
      matches_generated: matches,
    },
    compile_ms: compileMs,
    compile_cpu_ms: compileCpuMs,
    snapshot_apis: first.snapshot.apis.length,
    snapshot_credentials: first.snapshot.credentials.length,
    recompile_one_change_ms: recompileMs,
    recompile_one_change_cpu_ms: recompileCpuMs,
    split_ms: splitMs,
    snapshot_bytes: Buffer.byteLength(JSON.stringify(first.snapshot)),
    shard_count: split.shards.length,
    max_shard_bytes: Math.max(...split.shards.map((shard) => Buffer.byteLength(shard))),
    one_subscription_change: {
      shards_rewritten: rewritten,
      shard_count_unchanged: before.length === after.length,
    },
    compile_peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
  };
  print(figures);
}

/** The longest gap between timer ticks while `work` runs: how long the event loop was blocked. */
async function longestBlock<T>(work: () => Promise<T>): Promise<{ value: T; blockMs: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  let last = performance.now();
  let longest = 0;
  const probe = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  // Let the probe tick before the work starts, and after it ends, so both edges are seen.
  await new Promise((resolve) => setTimeout(resolve, 20));
  const value = await work();
  await new Promise((resolve) => setTimeout(resolve, 20));
  clearInterval(probe);
  histogram.disable();
  return { value, blockMs: Math.max(longest, histogram.max / 1e6) };
}

interface Version {
  manifest: ShardManifest;
  shards: Map<number, HeldShard>;
}

/**
 * A version's shards as the Kubernetes source's ConfigMap cache holds them (`holdShardData`):
 * the ConfigMaps whose content did not change since `previous` are the same HeldShards, which
 * hold what was parsed of them and no text; changed ones arrive as new HeldShards with their text.
 */
async function readVersion(dir: string, previous?: Version): Promise<Version> {
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as ShardManifest;
  const shards = new Map<number, HeldShard>();
  for (const { index, sha256 } of manifest.shards) {
    const kept =
      previous?.manifest.shards[index]?.sha256 === sha256 ? previous.shards.get(index) : undefined;
    shards.set(index, kept ?? holdShard(await readFile(join(dir, `shard-${index}.json`), 'utf8')));
  }
  return { manifest, shards };
}

async function loadSide(dir: string) {
  const keys = JSON.parse(await readFile(join(dir, 'keys.json'), 'utf8')) as SigningKeySet;
  // The ConfigMap cache: one version at a time, as a gateway holds it.
  let cache = await readVersion(join(dir, 'first'));
  const gateway = createGateway({
    logger: pino({ level: 'silent' }),
    registry: new Registry(),
    limiter: createMemoryLimiter(),
    publicUrl: 'https://gateway.example',
    environment: 'alpha',
  });

  // What the Kubernetes source does on a change: assemble from the cached ConfigMaps (its
  // reader parses only the shards it has not parsed yet, and they drop their text), update.
  const reader = createShardReader();
  const apply = async (version: Version) => {
    const cpu = process.cpuUsage();
    let start = performance.now();
    const assembled = await reader.assembleInSlices(version.manifest, version.shards);
    const assembleMs = elapsed(start);
    if (!assembled.ok) throw new Error(assembled.message);
    start = performance.now();
    await gateway.update(assembled.snapshot, keys);
    return { assembleMs, updateMs: elapsed(start), cpuMs: cpuSince(cpu) };
  };

  const initial = await longestBlock(() => apply(cache));
  global.gc?.();
  const rssAfterLoad = process.memoryUsage().rss;
  cache = await readVersion(join(dir, 'second'), cache);
  const reload = await longestBlock(() => apply(cache));
  global.gc?.();
  await new Promise((resolve) => setTimeout(resolve, 100));
  global.gc?.();
  const memory = process.memoryUsage();
  const figures: LoadFigures = {
    initial_assemble_ms: initial.value.assembleMs,
    initial_update_ms: initial.value.updateMs,
    initial_longest_block_ms: initial.blockMs,
    reload_assemble_ms: reload.value.assembleMs,
    reload_update_ms: reload.value.updateMs,
    reload_cpu_ms: reload.value.cpuMs,
    reload_longest_block_ms: reload.blockMs,
    rss_after_load_bytes: rssAfterLoad,
    rss_after_reload_bytes: memory.rss,
    heap_used_after_reload_bytes: memory.heapUsed,
    peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
  };
  await gateway.close();
  print(figures);
}

const [mode, dir, ...rest] = process.argv.slice(2);
if (mode === 'compile' && dir) {
  const [apis, subscriptions, sample] = rest.map(Number);
  await compileSide(dir, apis ?? 10_000, subscriptions ?? 100_000, sample ?? 200);
} else if (mode === 'load' && dir) {
  await loadSide(dir);
} else {
  process.stderr.write('usage: scale-worker.ts compile DIR APIS SUBSCRIPTIONS SAMPLE | load DIR\n');
  process.exitCode = 2;
}
