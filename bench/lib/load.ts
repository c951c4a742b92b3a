/**
 * The load generator at its peak: autocannon (programmatic API) at a fixed number of
 * connections, each sending its next request as soon as the previous response arrived (closed
 * loop). Paced runs (a fixed rate) are paced-load.ts's.
 *
 * Latencies are recorded here in fractional milliseconds: autocannon's own histogram keeps whole
 * milliseconds, too coarse for a proxy that adds a fraction of one.
 */

import autocannon, { type AutocannonRequest } from 'autocannon';

export interface LoadOptions {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  connections: number;
  durationSeconds: number;
  /** One request, or several that every connection cycles through (from its own offset). */
  requests: AutocannonRequest[];
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

/** As fast as the server answers (autocannon); paced runs are `PacedLoad`'s (paced-load.ts). */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
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
export function latencyRecorder() {
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

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[rank] as number;
}
