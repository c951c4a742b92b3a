/**
 * The path (and query) the backend receives: `backend.url`'s path + the raw path after the
 * basePath + the raw query string, unchanged (SPEC: `GET /design-api/v1/designs/42?x=1` →
 * `GET http://design.platform.svc:8080/designs/42?x=1`). Nothing is decoded or re-encoded.
 *
 * The one exception: a query parameter that carried an API key the gateway consumed is removed
 * (a key must never reach the backend); every other parameter keeps its exact bytes and order.
 * `backend.url`'s own query string, if any, is not used.
 */

export function upstreamPath(
  backendUrl: URL,
  rest: string,
  rawQuery: string | undefined,
  consumedQueryParameters: ReadonlySet<string> = new Set(),
): string {
  const base = backendUrl.pathname.replace(/\/+$/, '');
  const path = `${base}${rest}` || '/';
  if (rawQuery === undefined) return path;
  if (consumedQueryParameters.size === 0) return `${path}?${rawQuery}`;
  const kept = rawQuery.split('&').filter((pair) => {
    // Decoded by URLSearchParams itself, so a parameter is dropped exactly when
    // `collectCredentials` (which reads the query through URLSearchParams) took its value.
    const [name] = new URLSearchParams(pair).keys();
    return name === undefined || !consumedQueryParameters.has(name);
  });
  return kept.length === 0 ? path : `${path}?${kept.join('&')}`;
}
