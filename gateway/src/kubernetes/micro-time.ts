/**
 * Kubernetes MicroTime (Lease `acquireTime` / `renewTime`): RFC 3339 with exactly six
 * fractional digits. The API server rejects the three that `toISOString()` gives.
 */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
