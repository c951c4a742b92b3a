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
  /** One request, or several, spread over the connections (`requestsOfConnection`). */
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
    // Always a list: autocannon takes the path from `url`, not from a top-level `path`. Only the
    // first here: every connection builds (serialises) every request of this list when it is
    // created, and its own list again in `setupClient` below.
    requests: requests.slice(0, 1),
    setupClient: (client) => {
      if (requests.length <= 1) return;
      client.setRequests(requestsOfConnection(requests, offset++, options.connections));
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

/**
 * The requests the `index`-th of `connections` connections cycles through, so that at any
 * moment the server sees a spread of them (distinct tokens, several consumers' keys) rather than
 * every connection sending the same one.
 *
 * A list at least as long as the connections is dealt out: connection k gets requests k,
 * k + connections, ... Each request is then built once in all, not once per connection: with
 * 1,000 distinct tokens and 50 connections autocannon built 100,000 requests at the start of
 * every run (twice per connection), 1.5 s of the load generator's CPU taken from the server on a
 * 2-core machine, and the distinct-token scenario alone paid it (0.10-0.16 ms per request of
 * the generator's CPU, against 0.05 with one token). A shorter list is given whole to each
 * connection, starting at its k-th request.
 */
export function requestsOfConnection<T>(
  requests: readonly T[],
  index: number,
  connections: number,
): T[] {
  if (requests.length >= connections) {
    return requests.filter((_, i) => i % connections === index % connections);
  }
  const start = index % requests.length;
  return [...requests.slice(start), ...requests.slice(0, start)];
}
