/**
 * The latencies of one run, in fractional milliseconds, and their percentiles: shared by the
 * peak runs (load.ts) and the paced ones (paced-load.ts), whose worker thread loads this and
 * not autocannon.
 */

import type { LoadResult } from './load.ts';
import { type TailEpisodes, tailEpisodes } from './tail-episodes.ts';

/**
 * Latencies of one run, grown as needed, each with its request's send time when the caller
 * knows it (paced runs; autocannon's runs do not say), for `tail`.
 */
export function latencyRecorder() {
  let values = new Float64Array(1 << 16);
  let sentAt = new Float64Array(1 << 16);
  let count = 0;
  return {
    record(ms: number, sentAtMs = Number.NaN) {
      if (count === values.length) {
        const grown = new Float64Array(values.length * 2);
        grown.set(values);
        values = grown;
        const grownSentAt = new Float64Array(sentAt.length * 2);
        grownSentAt.set(sentAt);
        sentAt = grownSentAt;
      }
      sentAt[count] = sentAtMs;
      values[count++] = ms;
    },
    /** Responses timed, and their p50, p99 and maximum. */
    figures(): Pick<LoadResult, 'responses' | 'p50Ms' | 'p99Ms' | 'maxMs'> {
      // Sorted in a copy: `tail` needs each latency beside its send time.
      const sorted = values.slice(0, count).sort();
      return {
        responses: count,
        p50Ms: percentile(sorted, 0.5),
        p99Ms: percentile(sorted, 0.99),
        maxMs: count === 0 ? Number.NaN : (sorted[count - 1] as number),
      };
    },
    /** How the requests at or above `thresholdMs` are spread in time (tail-episodes.ts). */
    tail(thresholdMs: number): TailEpisodes {
      return tailEpisodes(sentAt.subarray(0, count), values.subarray(0, count), thresholdMs);
    },
  };
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[rank] as number;
}
