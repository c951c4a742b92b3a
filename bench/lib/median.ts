/** Medians of the rounds a figure was measured in (the upper one of an even count). */

export function median(values: readonly number[]): number {
  return medianBy(values, (value) => value);
}

/** The item whose `key` is the median of all items' (e.g. the round with the median rps). */
export function medianBy<T>(items: readonly T[], key: (item: T) => number): T {
  const sorted = [...items].sort((a, b) => key(a) - key(b));
  return sorted[Math.floor(sorted.length / 2)] as T;
}
