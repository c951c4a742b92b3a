/**
 * The load generator: autocannon (programmatic API) at a fixed number of connections, each
 * sending its next request as soon as the previous response arrived (closed loop), or at a
 * fixed overall rate (open-ish loop: `overallRate`).
 *
 * Latencies are recorded here, from autocannon's per-response event, in fractional
 * milliseconds: autocannon's own histogram keeps whole milliseconds, too coarse for a proxy that
 * adds a fraction of one. At a fixed rate they are NOT corrected for coordinated omission, so
 * compare rate-limited runs only well below saturation.
 */

import autocannon, { type AutocannonRequest } from 'autocannon';

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
  const { requests } = options;
  let latencies = new Float64Array(1 << 16);
  let recorded = 0;
  let offset = 0;
  const instance = autocannon({
    url: options.origin,
    connections: options.connections,
    duration: options.durationSeconds,
    timeout: 10,
    ...(options.overallRate === undefined ? {} : { overallRate: options.overallRate }),
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
  instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => {
    if (recorded === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[recorded++] = ms;
  });
  const result = await instance;
  const sorted = latencies.subarray(0, recorded).sort();
  const statusCodes = Object.fromEntries(
    Object.entries(result.statusCodeStats).map(([code, stats]) => [code, stats.count]),
  );
  return {
    durationSeconds: result.duration,
    responses: recorded,
    rps: result['2xx'] / result.duration,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    maxMs: recorded === 0 ? Number.NaN : (sorted[recorded - 1] as number),
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
  };
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[rank] as number;
}
