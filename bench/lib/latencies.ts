/**
 * The latencies of one run, in fractional milliseconds, and their percentiles: shared by the
 * peak runs (load.ts) and the paced ones (paced-load.ts), whose worker thread loads this and
 * not autocannon.
 */

import type { LoadResult } from './load.ts';

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
