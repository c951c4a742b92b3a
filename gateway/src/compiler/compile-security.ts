/**
 * OpenAPI security → what the gateway enforces: the document's security schemes mapped to the
 * ones it can verify, and each operation's requirements resolved (operation over root, the
 * secure-by-default alternatives when neither says anything). Scope strings are kept exactly as
 * written: matching is exact and case-sensitive.
 */

import type { SecurityRequirement, SecurityScheme } from '../snapshot/schema.ts';
import { codeUnitOrder } from './path-precedence.ts';

/** "Any valid credential of this Api": a token minted for it, or one of its API keys. */
export const DEFAULT_SECURITY: SecurityRequirement[][] = [
  [{ scheme: 'apiway:bearer', scopes: [] }],
  [{ scheme: 'apiway:apiKey', scopes: [] }],
];

export const DEFAULT_SCHEMES: Record<string, SecurityScheme> = {
  'apiway:bearer': { type: 'bearer' },
  'apiway:apiKey': { type: 'apiKey', in: 'header', name: 'x-api-key' },
};

/** RFC 6749 §3.3 scope-token: a scope with a space, quote or backslash would split or break the `scope` claim. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export interface CompiledSchemes {
  schemes: Record<string, SecurityScheme>;
  /** Every scope named in an oauth2 flow, sorted: the only scopes a token for this Api may carry. */
  declaredScopes: string[];
}

export function compileSecuritySchemes(components: unknown): CompiledSchemes | { problem: string } {
  const raw = isRecord(components) ? components.securitySchemes : undefined;
  if (raw !== undefined && !isRecord(raw))
    return { problem: 'components.securitySchemes must be a mapping' };
  const schemes: Record<string, SecurityScheme> = {};
  const declared = new Set<string>();
  for (const name of Object.keys(raw ?? {}).sort(codeUnitOrder)) {
    if (name.startsWith('apiway:')) {
      return {
        problem: `security scheme name "${name}" is reserved (the "apiway:" prefix is Apiway's)`,
      };
    }
    const scheme = compileScheme(name, (raw as Record<string, unknown>)[name], declared);
    if ('problem' in scheme) return scheme;
    schemes[name] = scheme;
  }
  return { schemes, declaredScopes: [...declared].sort(codeUnitOrder) };
}

function compileScheme(
  name: string,
  raw: unknown,
  declared: Set<string>,
): SecurityScheme | { problem: string } {
  if (!isRecord(raw) || typeof raw.type !== 'string') {
    return { problem: `security scheme "${name}" needs a type` };
  }
  switch (raw.type) {
    case 'oauth2': {
      if (!isRecord(raw.flows)) return { problem: `oauth2 security scheme "${name}" needs flows` };
      const scopes = new Set<string>();
      for (const flow of Object.values(raw.flows)) {
        if (!isRecord(flow)) continue;
        for (const scope of Object.keys(isRecord(flow.scopes) ? flow.scopes : {})) {
          if (!SCOPE_TOKEN.test(scope)) {
            return {
              problem: `oauth2 security scheme "${name}" declares scope ${JSON.stringify(scope)}, ${SCOPE_RULE}`,
            };
          }
          scopes.add(scope);
          declared.add(scope);
        }
      }
      return { type: 'oauth2', scopes: [...scopes].sort(codeUnitOrder) };
    }
    case 'http': {
      if (typeof raw.scheme !== 'string')
        return { problem: `http security scheme "${name}" needs a scheme` };
      // HTTP authentication scheme names are case-insensitive (RFC 9110 §11.1).
      if (raw.scheme.toLowerCase() === 'bearer') return { type: 'bearer' };
      return {
        type: 'unsupported',
        reason: `http "${raw.scheme}" authentication is not supported`,
      };
    }
    case 'openIdConnect': {
      if (typeof raw.openIdConnectUrl !== 'string' || !URL.canParse(raw.openIdConnectUrl)) {
        return {
          problem: `openIdConnect security scheme "${name}" needs an absolute openIdConnectUrl`,
        };
      }
      return { type: 'openIdConnect', openIdConnectUrl: raw.openIdConnectUrl };
    }
    case 'apiKey': {
      if (typeof raw.name !== 'string' || raw.name === '') {
        return { problem: `apiKey security scheme "${name}" needs a name` };
      }
      // Header names are case-insensitive: stored lower-case, as Node presents incoming headers.
      if (raw.in === 'header')
        return { type: 'apiKey', in: 'header', name: raw.name.toLowerCase() };
      if (raw.in === 'query') return { type: 'apiKey', in: 'query', name: raw.name };
      if (raw.in === 'cookie')
        return { type: 'unsupported', reason: 'API keys in a cookie are not supported' };
      return { problem: `apiKey security scheme "${name}" must say in: header, query or cookie` };
    }
    case 'mutualTLS':
      return { type: 'unsupported', reason: 'mutual TLS is not supported' };
    default:
      return { type: 'unsupported', reason: `security scheme type "${raw.type}" is not supported` };
  }
}

const SCOPE_RULE = 'which is not an OAuth scope (RFC 6749 §3.3: no spaces, quotes or backslashes)';

/**
 * A `security` list resolved against the document's schemes: alternatives in document order,
 * each alternative's requirements sorted by scheme, each requirement's scopes de-duplicated and
 * sorted. `[]` stays `[]` (public); `{}` becomes an empty alternative (authentication optional).
 * Does not check that required scopes are declared: tokens of an associated IdP may carry others.
 */
export function resolveSecurity(
  raw: unknown,
  schemes: Record<string, SecurityScheme>,
  where: string,
): SecurityRequirement[][] | { problem: string } {
  if (!Array.isArray(raw)) return { problem: `${where}: security must be a list` };
  const alternatives: SecurityRequirement[][] = [];
  for (const alternative of raw) {
    if (!isRecord(alternative))
      return { problem: `${where}: each security alternative must be a mapping` };
    const requirements: SecurityRequirement[] = [];
    for (const scheme of Object.keys(alternative).sort(codeUnitOrder)) {
      if (!Object.hasOwn(schemes, scheme)) {
        return {
          problem: `${where} requires security scheme "${scheme}", which components.securitySchemes does not define`,
        };
      }
      const scopes = alternative[scheme];
      if (!Array.isArray(scopes) || scopes.some((scope) => typeof scope !== 'string')) {
        return { problem: `${where}: the scopes of "${scheme}" must be a list of strings` };
      }
      const invalid = scopes.find((scope) => !SCOPE_TOKEN.test(scope));
      if (invalid !== undefined) {
        return { problem: `${where} requires scope ${JSON.stringify(invalid)}, ${SCOPE_RULE}` };
      }
      requirements.push({ scheme, scopes: [...new Set<string>(scopes)].sort(codeUnitOrder) });
    }
    alternatives.push(requirements);
  }
  return alternatives;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
