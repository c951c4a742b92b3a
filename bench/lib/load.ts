/**
 * The load generator at its peak: autocannon (programmatic API) at a fixed number of
 * connections, each sending its next request as soon as the previous response arrived (closed
 * loop). Paced runs (a fixed rate) are paced-load.ts's.
 *
 * Latencies are recorded here in fractional milliseconds: autocannon's own histogram keeps whole
 * milliseconds, too coarse for a proxy that adds a fraction of one.
 */

import autocannon, { type AutocannonRequest } from 'autocannon';
import { latencyRecorder } from './latencies.ts';
import type { TailEpisodes } from './tail-episodes.ts';

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
  /** Paced runs only: how the requests at the p99 or slower were spread in time. */
  tail?: TailEpisodes;
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
