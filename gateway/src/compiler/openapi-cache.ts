/**
 * Parsed OpenAPI documents by the sha256 of their text, shared by the gather steps of the
 * standalone gateway and the operator: a reload reparses only documents whose text changed.
 * Least recently used first, trimmed by the caller to what it still needs.
 */

import { createHash } from 'node:crypto';
import type { ParsedOpenApi } from './types.ts';

export type ParseOpenApi = (text: string) => Promise<ParsedOpenApi>;

export interface OpenApiCache {
  /** The parse of `text`, from the cache when the same text was parsed before. */
  parse(text: string): Promise<ParsedOpenApi>;
  /** Forgets the least recently used documents beyond `limit`. */
  retain(limit: number): void;
}

export function createOpenApiCache(parseOpenApi: ParseOpenApi): OpenApiCache {
  const parsed = new Map<string, Promise<ParsedOpenApi>>();
  return {
    parse(text) {
      const hash = createHash('sha256').update(text, 'utf8').digest('hex');
      const pending = parsed.get(hash) ?? parseOpenApi(text);
      // Re-inserted so the Map's order is least recently used first.
      parsed.delete(hash);
      parsed.set(hash, pending);
      return pending;
    },
    retain(limit) {
      for (const hash of parsed.keys()) {
        if (parsed.size <= limit) break;
        parsed.delete(hash);
      }
    },
  };
}
