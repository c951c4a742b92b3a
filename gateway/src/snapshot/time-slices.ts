/**
 * Long work split into slices that give the event loop back between them, so requests keep
 * being served while a large snapshot is indexed (10k Apis / 100k Subscriptions take a second
 * of CPU; in one piece, that is a second of stalled requests).
 *
 * The work is written once, as a generator that `yield`s at points where it may pause (every
 * few hundred items): `runToCompletion` drives it synchronously (small snapshots, tests),
 * `runInSlices` pauses at those points once a slice has run for `sliceMs`, with `setImmediate`
 * (I/O callbacks, hence requests, run before the next slice).
 */

import { performance } from 'node:perf_hooks';

/** A slice's length before it gives way: well under the 50 ms a request may wait at worst. */
export const DEFAULT_SLICE_MS = 10;

export type Sliced<T> = Generator<void, T, void>;

export function runToCompletion<T>(work: Sliced<T>): T {
  for (;;) {
    const step = work.next();
    if (step.done) return step.value;
  }
}

export async function runInSlices<T>(work: Sliced<T>, sliceMs = DEFAULT_SLICE_MS): Promise<T> {
  let sliceStart = performance.now();
  for (;;) {
    const step = work.next();
    if (step.done) return step.value;
    if (performance.now() - sliceStart >= sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
}
