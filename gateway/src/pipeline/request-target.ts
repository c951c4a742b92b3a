/**
 * The request target exactly as the client sent it. Routing works on the raw path: it is never
 * decoded as a whole, so `%2F` stays inside its segment and never becomes a separator, and a
 * trailing `/` is significant (no folding). Only parameter values are decoded, one segment at a
 * time (see match-operation.ts).
 */

import { GatewayError } from '../errors.ts';

export interface RequestTarget {
  /** Raw path, starting with `/`. */
  path: string;
  /** Raw query after `?` (possibly empty), or undefined when the target has no `?`. */
  query: string | undefined;
}

/**
 * Splits an origin-form target (`/path?query`). Any other form (absolute-form, `*`) names
 * nothing this gateway serves: 404. Does NOT check dot-segments: see `hasDotSegment`.
 */
export function parseRequestTarget(url: string | undefined): RequestTarget {
  if (!url?.startsWith('/')) throw notFound();
  const question = url.indexOf('?');
  return question === -1
    ? { path: url, query: undefined }
    : { path: url.slice(0, question), query: url.slice(question + 1) };
}

/**
 * True when a segment is `.` or `..`, written plainly or percent-encoded (`%2e`, `%2E`). Such a
 * path is refused outright rather than normalised: normalising would let
 * `/api-a/../api-b/x` be routed as one Api and read by the backend as another.
 */
export function hasDotSegment(path: string): boolean {
  // Most paths hold neither a dot nor a percent sign: nothing to look at.
  if (!path.includes('.') && !path.includes('%')) return false;
  for (const segment of path.split('/')) {
    const plain = segment.replace(/%2e/gi, '.');
    if (plain === '.' || plain === '..') return true;
  }
  return false;
}

export function notFound(): GatewayError {
  return new GatewayError('not_found', 'No operation matches this path.');
}
