/**
 * Step 2: the OpenAPI operation a request targets. Each Api's `paths` are compiled into matchers
 * once per snapshot (at `update()`), never per request.
 *
 * Matching rules:
 * - The path after `basePath` is split on `/` exactly as sent; a template matches only paths
 *   with as many segments (no trailing-slash folding: `/designs/` is not `/designs`).
 * - A literal segment matches the raw segment byte for byte (a template's characters that must
 *   be percent-encoded in a URL are compared in their encoded, upper-case form); the gateway does
 *   not equate `%73` with `s`.
 * - A parameter (`{id}`, also inside a segment: `{name}.json`) matches a non-empty part of one
 *   segment; its value is percent-decoded (a malformed encoding does not match). `%2F` stays a
 *   character of the value, never a separator.
 * - Paths are tried in the snapshot's precedence order (concrete before templated). The first
 *   path that matches AND has an operation for the method wins, so `DELETE /designs/latest`
 *   reaches `DELETE /designs/{id}` when `/designs/latest` only declares GET: every
 *   (method, template) pair is an operation with its own security, as in Azure API Management.
 * - `HEAD` uses the path's HEAD operation, or else its GET operation (same security), and is
 *   forwarded as HEAD.
 * - No path matches: 404 `not_found`. Some path matches but none has the method: 405
 *   `method_not_allowed` with `Allow` listing the methods of every matching path (HEAD
 *   included wherever GET is).
 */

import { GatewayError } from '../errors.ts';
import type { SnapshotOperation, SnapshotPath } from '../snapshot/schema.ts';
import { notFound } from './request-target.ts';

export interface MatchedOperation {
  /** The template as written in the document, e.g. `/designs/{id}`. */
  template: string;
  /** The document's method for this operation (GET when a HEAD request uses the GET operation). */
  method: string;
  operation: SnapshotOperation;
  /** Decoded parameter values by name. */
  params: Record<string, string>;
}

export interface OperationMatcher {
  /** Throws `not_found` or `method_not_allowed` (with `Allow`). */
  match(rest: string, method: string): MatchedOperation;
}

type SegmentMatcher =
  | { kind: 'literal'; text: string }
  /** A whole segment that is one parameter (`{id}`): by far the most common, and no RegExp to hold. */
  | { kind: 'parameter'; name: string }
  | { kind: 'pattern'; regex: RegExp; names: string[] };

interface CompiledPath {
  path: SnapshotPath;
  segments: SegmentMatcher[];
}

export function compileOperationMatcher(paths: readonly SnapshotPath[]): OperationMatcher {
  // Bucketed by segment count (a cheap first cut), precedence order kept inside each bucket.
  const bySegmentCount = new Map<number, CompiledPath[]>();
  for (const path of paths) {
    const segments = path.template.split('/').map(compileSegment);
    const bucket = bySegmentCount.get(segments.length) ?? [];
    bucket.push({ path, segments });
    bySegmentCount.set(segments.length, bucket);
  }

  return {
    match(rest, method) {
      const raw = rest.split('/');
      const allowed = new Set<string>();
      for (const candidate of bySegmentCount.get(raw.length) ?? []) {
        const params = matchSegments(candidate.segments, raw);
        if (!params) continue;
        const operations = candidate.path.operations;
        const chosen = operations[method]
          ? method
          : method === 'HEAD' && operations.GET
            ? 'GET'
            : undefined;
        if (chosen) {
          const operation = operations[chosen] as SnapshotOperation;
          return { template: candidate.path.template, method: chosen, operation, params };
        }
        for (const name of Object.keys(operations)) allowed.add(name);
        if (operations.GET) allowed.add('HEAD');
      }
      if (allowed.size === 0) throw notFound();
      throw new GatewayError('method_not_allowed', `This path does not accept ${method}.`, {
        headers: { allow: [...allowed].sort().join(', ') },
      });
    },
  };
}

function compileSegment(segment: string): SegmentMatcher {
  if (!segment.includes('{')) return { kind: 'literal', text: encodeLiteral(segment) };
  const whole = /^\{([^{}]+)\}$/.exec(segment);
  if (whole) return { kind: 'parameter', name: whole[1] as string };
  const names: string[] = [];
  let source = '';
  let last = 0;
  for (const parameter of segment.matchAll(/\{([^{}]+)\}/g)) {
    source += escapeRegex(encodeLiteral(segment.slice(last, parameter.index)));
    // Lazy: with `{name}.json` the literal suffix decides where the value ends.
    source += '(.+?)';
    names.push(parameter[1] as string);
    last = parameter.index + parameter[0].length;
  }
  source += escapeRegex(encodeLiteral(segment.slice(last)));
  return { kind: 'pattern', regex: new RegExp(`^${source}$`), names };
}

function matchSegments(
  segments: SegmentMatcher[],
  raw: string[],
): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as SegmentMatcher;
    const value = raw[i] as string;
    if (segment.kind === 'literal') {
      if (segment.text !== value) return undefined;
      continue;
    }
    if (segment.kind === 'parameter') {
      // As the pattern `^(.+?)$` would: any non-empty segment.
      if (value === '') return undefined;
      const decoded = decodeSegment(value);
      if (decoded === undefined) return undefined;
      params[segment.name] = decoded;
      continue;
    }
    const found = segment.regex.exec(value);
    if (!found) return undefined;
    for (let n = 0; n < segment.names.length; n++) {
      const decoded = decodeSegment(found[n + 1] as string);
      if (decoded === undefined) return undefined;
      params[segment.names[n] as string] = decoded;
    }
  }
  return params;
}

function decodeSegment(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/** A template's literal text as a client would send it: RFC 3986 `pchar`s stay, others are percent-encoded. */
function encodeLiteral(text: string): string {
  return text.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@%]/gu, (char) => encodeURIComponent(char));
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
