/**
 * Scale: a synthetic platform (default 10,000 Apis / 1,000 Products / 100,000 Subscriptions,
 * bench/lib/synthetic.ts) through the operator's side (parse, compile, split into shards) and
 * the gateway's side (assemble, load, reload one changed Subscription), each half in its own
 * process with a large heap (scale-worker.ts), so the gateway's memory is the gateway's alone;
 * the gateway's side also with the V8 flags the gateway is launched with.
 */

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_SHARD_BYTES } from '../gateway/src/snapshot/shards.ts';
import { startChild } from './lib/child.ts';
import { PRODUCTION_NODE_FLAGS } from './lib/gateway-fixture.ts';
import type { CompileFigures, LoadFigures } from './scale-worker.ts';

const WORKER = fileURLToPath(new URL('./scale-worker.ts', import.meta.url));

export interface ScaleOptions {
  dir: string;
  apis: number;
  subscriptions: number;
  /** Documents run through the real OpenAPI parser (slow: a sample, the rest estimated). */
  parseSample: number;
  /** --max-old-space-size of each worker, MiB. */
  heapMiB: number;
  log: (line: string) => void;
}

export type ScaleResult = CompileFigures & { shard_limit_bytes: number; gateway: LoadFigures };

async function runWorker<T>(
  args: string[],
  heapMiB: number,
  timeoutMs: number,
  nodeFlags: string[] = [],
): Promise<T> {
  const child = startChild(process.execPath, [
    `--max-old-space-size=${heapMiB}`,
    ...nodeFlags,
    '--expose-gc',
    WORKER,
    ...args,
  ]);
  const timer = setTimeout(() => void child.stop('SIGKILL'), timeoutMs);
  try {
    await new Promise<void>((resolve) => child.process.once('exit', () => resolve()));
  } finally {
    clearTimeout(timer);
  }
  const line = child
    .output()
    .split('\n')
    .find((candidate) => candidate.startsWith('RESULT '));
  if (!line) {
    throw new Error(
      `scale-worker ${args[0]} failed (exit ${child.process.exitCode ?? child.process.signalCode}):\n${child.output()}`,
    );
  }
  return JSON.parse(line.slice('RESULT '.length)) as T;
}

export async function runScale(options: ScaleOptions): Promise<ScaleResult> {
  const dir = join(options.dir, 'scale');
  const { log } = options;
  try {
    log(
      `  generating and compiling ${options.apis} Apis / ${options.subscriptions} Subscriptions (parse sample: ${options.parseSample} documents)`,
    );
    const compiled = await runWorker<CompileFigures>(
      [
        'compile',
        dir,
        String(options.apis),
        String(options.subscriptions),
        String(options.parseSample),
      ],
      options.heapMiB,
      15 * 60_000,
    );
    log(
      `  compile ${ms(compiled.compile_ms)}, recompile after one change ${ms(compiled.recompile_one_change_ms)}, split ${ms(compiled.split_ms)}; snapshot ${mib(compiled.snapshot_bytes)} in ${compiled.shard_count} shards (largest ${kib(compiled.max_shard_bytes)}); one change rewrote ${compiled.one_subscription_change.shards_rewritten} shard(s)`,
    );
    log(
      `  parse ${compiled.parse.ms_per_document.toFixed(1)} ms/document (${compiled.parse.documents_parsed} parsed; all ${compiled.apis} ≈ ${ms(compiled.parse.estimated_all_documents_ms)})`,
    );
    const gateway = await runWorker<LoadFigures>(
      ['load', dir],
      options.heapMiB,
      10 * 60_000,
      PRODUCTION_NODE_FLAGS,
    );
    log(
      `  gateway: load ${ms(gateway.initial_assemble_ms + gateway.initial_update_ms)}, reload ${ms(gateway.reload_assemble_ms + gateway.reload_update_ms)} (assemble ${ms(gateway.reload_assemble_ms)} + update ${ms(gateway.reload_update_ms)}), longest event-loop block ${ms(gateway.reload_longest_block_ms)}, RSS ${mib(gateway.rss_after_reload_bytes)} (peak ${mib(gateway.peak_rss_bytes)})`,
    );
    return { ...compiled, shard_limit_bytes: MAX_SHARD_BYTES, gateway };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const ms = (value: number) => `${value.toFixed(0)} ms`;
const kib = (value: number) => `${(value / 1024).toFixed(0)} KiB`;
const mib = (value: number) => `${(value / 1024 / 1024).toFixed(0)} MiB`;
