/**
 * The load generator: autocannon (programmatic API) at a fixed number of connections, each
 * sending its next request as soon as the previous response arrived (closed loop: the peak
 * rate), or, with `overallRate`, requests paced evenly at that rate (open loop: latency at a
 * given load).
 *
 * Latencies are recorded here in fractional milliseconds: autocannon's own histogram keeps whole
 * milliseconds, too coarse for a proxy that adds a fraction of one.
 *
 * Why not autocannon's own `overallRate` for the paced runs: it gives each connection a quota
 * per second, and a connection sends its quota as fast as responses come back, then waits for the
 * next second. Measured here at 5,000 rps on the upstream alone: each second's 5,000 requests
 * went out within its first ~200 ms (at ~25,000 rps, the server's peak), then nothing for ~800
 * ms. Its "latency at half the peak rate" was the latency at saturation. The paced runs below
 * send request i at `start + i / rate` (every millisecond, what fell due), over `connections`
 * keep-alive connections of one undici Pool, and time each from when it was DUE, not when a
 * connection was free to send it: a server that falls behind is charged for the queue it caused
 * (no coordinated omission, as wrk2 does it).
 */

import autocannon, { type AutocannonRequest } from 'autocannon';
import { Pool } from 'undici';

export interface LoadOptions {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  connections: number;
  durationSeconds: number;
  /** One request, or several that every connection cycles through (from its own offset). */
  requests: AutocannonRequest[];
  /** Requests per second over all connections; absent: as fast as the server answers. */
  overallRate?: number;
}

export interface LoadResult {
  durationSeconds: number;
  /** Responses received (any status). */
  responses: number;
  /** 2xx responses per second: the throughput figure. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Count per status code, e.g. `{ "200": 99000, "401": 3 }`. */
  statusCodes: Record<string, number>;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { overallRate } = options;
  if (overallRate !== undefined) return runPacedLoad({ ...options, overallRate });
  const { requests } = options;
  const latencies = latencyRecorder();
  let offset = 0;
  const instance = autocannon({
    url: options.origin,
    connections: options.connections,
    duration: options.durationSeconds,
    timeout: 10,
    // Always a list: autocannon takes the path from `url`, not from a top-level `path`.
    requests,
    // Each connection starts at another request of the list, so at any moment the server sees
    // a spread of them (distinct tokens) rather than every connection sending the same one.
    setupClient: (client) => {
      if (requests.length <= 1) return;
      const start = offset++ % requests.length;
      client.setRequests([...requests.slice(start), ...requests.slice(0, start)]);
    },
  });
  instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) =>
    latencies.record(ms),
  );
  const result = await instance;
  const statusCodes = Object.fromEntries(
    Object.entries(result.statusCodeStats).map(([code, stats]) => [code, stats.count]),
  );
  return {
    durationSeconds: result.duration,
    ...latencies.figures(),
    rps: result['2xx'] / result.duration,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
  };
}

/** Latencies of one run, grown as needed. */
function latencyRecorder() {
  let values = new Float64Array(1 << 16);
  let count = 0;
  return {
    record(ms: number) {
      if (count === values.length) {
        const grown = new Float64Array(values.length * 2);
        grown.set(values);
        values = grown;
      }
      values[count++] = ms;
    },
    /** Responses timed, and their p50, p99 and maximum. */
    figures(): Pick<LoadResult, 'responses' | 'p50Ms' | 'p99Ms' | 'maxMs'> {
      const sorted = values.subarray(0, count).sort();
      return {
        responses: count,
        p50Ms: percentile(sorted, 0.5),
        p99Ms: percentile(sorted, 0.99),
        maxMs: count === 0 ? Number.NaN : (sorted[count - 1] as number),
      };
    },
  };
}

/** How long a paced run waits for responses still outstanding when it ends (autocannon's `timeout`). */
const DRAIN_MS = 10_000;

/**
 * Requests paced at `overallRate` (see the top of this file). A lead-in at the same rate (a
 * quarter of the duration, at most 1 s) opens the connections and warms this process's own code
 * before anything is recorded: otherwise whichever scenario ran first would pay for it.
 *
 * A request is timed from when it is handed to the pool, which sends it at once on a free
 * connection or queues it until one is free (that queue is the server's doing, and counted).
 * Not from its due time: timers here fire every ~1.1 ms, so up to a millisecond of the
 * generator's own lateness would be added to every figure, and more to its p99.
 */
async function runPacedLoad(options: LoadOptions & { overallRate: number }): Promise<LoadResult> {
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
        latencies.record(lastResponseMs - sentAtMs);
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
    rps: durationSeconds > 0 ? ok / durationSeconds : 0,
    non2xx: figures.responses - ok,
    errors,
    timeouts,
    statusCodes,
  };
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[rank] as number;
}
