/**
 * Paced load (open loop): requests sent at a fixed rate whatever the server does, for latency at
 * a given load.
 *
 * Why not autocannon's own `overallRate`: it gives each connection a quota per second, and a
 * connection sends its quota as fast as responses come back, then waits for the next second.
 * Measured here at 5,000 rps on the upstream alone: each second's 5,000 requests went out within
 * its first ~200 ms (at ~25,000 rps, the server's peak), then nothing for ~800 ms. Its "latency at
 * half the peak rate" was the latency at saturation. Here request i is sent at `start + i / rate`
 * (every millisecond, what fell due), over `connections` keep-alive connections of one undici
 * Pool; a request waiting in the pool for a free connection is timed from when it was sent, so a
 * server that falls behind is charged for the queue it caused.
 *
 * The loop runs in a worker thread of its own (`startPacedLoadWorker`), kept for every paced run
 * of a bench. A pause of the thread that times the requests is charged to the server as
 * latency. In the bench's main thread, whose heap holds everything else the bench loaded, a run
 * at 4,400 rps ended with a full mark-compact of ~65 MB (3-10 ms, with incremental steps of up to
 * 8 ms) every time, on top of the scavenges; the bare proxy's p99 there was 5-11 ms, against
 * 1.4-3.6 ms from a process that only generated load. A worker has its own heap (V8 collects it
 * apart from the main thread's), holds nothing but this loop, and stays warm from one run to the
 * next: a fresh generator's first run had a p99 of 9-49 ms.
 */

import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { AutocannonRequest } from 'autocannon';
import { Pool } from 'undici';
import { latencyRecorder } from './latencies.ts';
import type { LoadOptions, LoadResult } from './load.ts';

export interface PacedLoadOptions extends LoadOptions {
  /** Requests per second over all connections. */
  overallRate: number;
}

/** How long a paced run waits for responses still outstanding when it ends (autocannon's `timeout`). */
const DRAIN_MS = 10_000;

/**
 * Requests paced at `overallRate` (see the top of this file), on the calling thread. A lead-in at
 * the same rate (a quarter of the duration, at most 1 s) opens the connections before anything is
 * recorded.
 *
 * A request is timed from when it is handed to the pool, which sends it at once on a free
 * connection or queues it until one is free (that queue is the server's doing, and counted).
 * Not from its due time: timers here fire every ~1.1 ms, so up to a millisecond of the
 * generator's own lateness would be added to every figure, and more to its p99.
 */
export async function runPacedLoad(options: PacedLoadOptions): Promise<LoadResult> {
  const { requests, overallRate } = options;
  if (requests.length === 0) throw new Error('a paced run needs at least one request');
  const pool = new Pool(options.origin, { connections: options.connections, pipelining: 1 });
  const latencies = latencyRecorder();
  const statusCodes: Record<string, number> = {};
  const leadIn = Math.round(overallRate * Math.min(1, options.durationSeconds / 4));
  const total = leadIn + Math.max(1, Math.round(overallRate * options.durationSeconds));
  let ok = 0;
  let errors = 0;
  let timeouts = 0;
  let outstanding = 0;
  let sent = 0;
  let measuredFromMs = Number.NaN;
  let lastResponseMs = Number.NaN;
  let allSettled: () => void = () => undefined;
  const settledAll = new Promise<void>((resolve) => {
    allSettled = resolve;
  });

  const send = (index: number) => {
    const request = requests[index % requests.length] as AutocannonRequest;
    const recorded = index >= leadIn;
    const sentAtMs = performance.now();
    if (index === leadIn) measuredFromMs = sentAtMs;
    outstanding++;
    pool
      .request({
        method: (request.method ?? 'GET') as 'GET',
        path: request.path ?? '/',
        headers: request.headers ?? {},
        ...(request.body === undefined ? {} : { body: request.body }),
        headersTimeout: DRAIN_MS,
        bodyTimeout: DRAIN_MS,
      })
      .then(async (response) => {
        await response.body.dump();
        if (!recorded) return;
        lastResponseMs = performance.now();
        latencies.record(lastResponseMs - sentAtMs, sentAtMs);
        statusCodes[response.statusCode] = (statusCodes[response.statusCode] ?? 0) + 1;
        if (response.statusCode >= 200 && response.statusCode < 300) ok++;
      })
      .catch((error: { code?: string }) => {
        if (error.code === 'UND_ERR_HEADERS_TIMEOUT' || error.code === 'UND_ERR_BODY_TIMEOUT')
          timeouts++;
        else errors++;
      })
      .finally(() => {
        outstanding--;
        if (sent === total && outstanding === 0) allSettled();
      });
  };

  // Every millisecond (as near as timers get), send what fell due since the last tick.
  const startMs = performance.now();
  await new Promise<void>((done) => {
    const tick = () => {
      const due = Math.min(
        total,
        Math.floor(((performance.now() - startMs) * overallRate) / 1000) + 1,
      );
      while (sent < due) send(sent++);
      if (sent < total) setTimeout(tick, 1);
      else done();
    };
    tick();
  });
  let drainTimer: NodeJS.Timeout | undefined;
  await Promise.race([
    settledAll,
    new Promise<void>((resolve) => {
      drainTimer = setTimeout(resolve, DRAIN_MS);
    }),
  ]);
  clearTimeout(drainTimer);
  timeouts += outstanding;
  await pool.destroy();
  const durationSeconds = (lastResponseMs - measuredFromMs) / 1000;
  const figures = latencies.figures();
  return {
    durationSeconds,
    ...figures,
    tail: latencies.tail(figures.p99Ms),
    rps: durationSeconds > 0 ? ok / durationSeconds : 0,
    non2xx: figures.responses - ok,
    errors,
    timeouts,
    statusCodes,
  };
}

/** The paced runs of a bench, each made in one long-lived worker thread (see the top). */
export interface PacedLoad {
  run(options: PacedLoadOptions): Promise<LoadResult>;
  /** Ends the worker; runs still pending reject. */
  stop(): Promise<void>;
}

const ROLE = 'apiway-bench-paced-load';

type Reply = { id: number; result: LoadResult } | { id: number; error: string };

export function startPacedLoadWorker(): PacedLoad {
  const worker = new Worker(new URL(import.meta.url), { workerData: { role: ROLE } });
  const pending = new Map<
    number,
    { resolve: (r: LoadResult) => void; reject: (e: Error) => void }
  >();
  let nextId = 0;
  // Between runs the worker must not keep the bench alive on its own.
  worker.unref();
  const failAll = (error: Error) => {
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
  };
  worker.on('message', (reply: Reply) => {
    const waiting = pending.get(reply.id);
    if (!waiting) return;
    pending.delete(reply.id);
    if (pending.size === 0) worker.unref();
    if ('error' in reply) waiting.reject(new Error(reply.error));
    else waiting.resolve(reply.result);
  });
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`the paced-load worker exited (code ${code})`)));
  return {
    run(options) {
      const id = nextId++;
      return new Promise<LoadResult>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.ref();
        worker.postMessage({ id, options });
      });
    },
    async stop() {
      await worker.terminate();
    },
  };
}

if (!isMainThread && (workerData as { role?: string } | null)?.role === ROLE) {
  const port = parentPort;
  port?.on('message', async ({ id, options }: { id: number; options: PacedLoadOptions }) => {
    try {
      port.postMessage({ id, result: await runPacedLoad(options) } satisfies Reply);
    } catch (error) {
      port.postMessage({ id, error: (error as Error).message } satisfies Reply);
    }
  });
}
