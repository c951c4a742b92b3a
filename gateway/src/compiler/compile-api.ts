/**
 * One Api → its snapshot entry: spec checks, operations in match precedence, each operation's
 * security resolved, and the scopes it declares. Conflicts between Apis (basePath) and
 * references from other objects are decided by the caller, which sees them all.
 */

import type { ApiResource } from '../resources/types.ts';
import { objectKey } from '../resources/types.ts';
import type {
  SecurityScheme,
  SnapshotApi,
  SnapshotOperation,
  SnapshotPath,
} from '../snapshot/schema.ts';
import {
  compileSecuritySchemes,
  DEFAULT_SCHEMES,
  DEFAULT_SECURITY,
  isRecord,
  resolveSecurity,
} from './compile-security.ts';
import type { Problem } from './conditions.ts';
import {
  codeUnitOrder,
  comparePathTemplates,
  type PathTemplate,
  parsePathTemplate,
} from './path-precedence.ts';
import { rateLimitRules } from './rate-limits.ts';
import type { OpenApiDocument, ParsedOpenApi } from './types.ts';

/** The Path Item fields that are operations (OpenAPI 3.0 and 3.1). */
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

const DEFAULT_TIMEOUT_SECONDS = 30;
const DEFAULT_TOKEN_TTL_SECONDS = 3600;
/** RFC 3986 `pchar` without `%`: an encoded basePath could never be matched "exactly as sent". */
const BASE_PATH_SEGMENT = /^[A-Za-z0-9\-._~!$&'()*+,;=:@]+$/;

export interface CompiledApi {
  /** The normalised basePath, when it is valid: it takes part in conflicts even if the rest is not. */
  basePath?: string;
  /** Set when the Api itself compiled (its basePath may still lose a conflict). */
  api?: SnapshotApi;
  problems: Problem[];
  /** For the Api's status: `{ operations, defaultSecuredOperations }` once its document compiled. */
  details: Record<string, unknown>;
}

export function compileApi(resource: ApiResource, parsed: ParsedOpenApi | undefined): CompiledApi {
  const id = objectKey(resource.metadata);
  const spec = resource.spec;
  const problems: Problem[] = [];
  const invalidSpec = (message: string) => problems.push({ reason: 'InvalidSpec', message });

  const basePath = normaliseBasePath(spec.basePath);
  if ('problem' in basePath) invalidSpec(basePath.problem);

  const backendProblem = checkBackendUrl(spec.backend?.url);
  if (backendProblem) invalidSpec(backendProblem);
  const timeoutSeconds = spec.backend?.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  if (
    typeof timeoutSeconds !== 'number' ||
    !(timeoutSeconds > 0) ||
    !Number.isFinite(timeoutSeconds)
  ) {
    invalidSpec('spec.backend.timeoutSeconds must be a positive number');
  }
  const signingAlgorithm = spec.tokens?.signingAlgorithm ?? 'ES256';
  if (signingAlgorithm !== 'ES256' && signingAlgorithm !== 'RS256') {
    invalidSpec('spec.tokens.signingAlgorithm must be ES256 or RS256');
  }
  const ttlSeconds = spec.tokens?.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1) {
    invalidSpec('spec.tokens.ttlSeconds must be a positive integer');
  }
  const audience = spec.tokens?.audience;
  if (audience !== undefined && (typeof audience !== 'string' || audience === '')) {
    invalidSpec('spec.tokens.audience must be a non-empty string');
  }
  const limits = rateLimitRules(spec.rateLimit, 'api', id, 'spec.rateLimit');
  if ('problem' in limits) invalidSpec(limits.problem);
  const openapiSpec = spec.openapi ?? {};
  if ((openapiSpec.inline === undefined) === (openapiSpec.configMapRef === undefined)) {
    invalidSpec('spec.openapi must set exactly one of inline and configMapRef');
  }

  let operations: CompiledOperations | undefined;
  if (parsed === undefined) {
    problems.push({
      reason: 'OpenApiNotFound',
      message: 'the OpenAPI document (spec.openapi) was not loaded',
    });
  } else if (!parsed.ok) {
    problems.push({ reason: parsed.reason, message: parsed.message });
  } else {
    const compiled = compileOperations(parsed.document);
    if ('problem' in compiled) {
      problems.push({
        reason: 'OpenApiInvalid',
        message: `OpenAPI document is invalid: ${compiled.problem}`,
      });
    } else {
      operations = compiled;
    }
  }

  const result: CompiledApi = {
    problems,
    details: operations
      ? { operations: operations.count, defaultSecuredOperations: operations.defaultSecured }
      : {},
  };
  if ('basePath' in basePath) result.basePath = basePath.basePath;
  if (problems.length > 0 || !operations || !('basePath' in basePath) || 'problem' in limits)
    return result;

  result.api = {
    id,
    namespace: resource.metadata.namespace,
    name: resource.metadata.name,
    displayName: spec.displayName ?? resource.metadata.name,
    basePath: basePath.basePath,
    ...(audience !== undefined ? { audience } : {}),
    backend: { url: spec.backend.url, timeoutMs: Math.round(timeoutSeconds * 1000) },
    tokens: { signingAlgorithm, ttlSeconds },
    declaredScopes: operations.declaredScopes,
    securitySchemes: operations.securitySchemes,
    paths: operations.paths,
    defaultSecuredOperations: operations.defaultSecured,
    rateLimit: limits.rules,
    idps: [],
  };
  return result;
}

/**
 * `/design-api/v1/` → `/design-api/v1`. Refuses `/` alone (an Api would swallow every path,
 * including the gateway's own `/.well-known/…`), empty, `.` and `..` segments, `%` (paths match
 * exactly as sent, so an encoded basePath could never match), and `/.well-known/…`.
 */
export function normaliseBasePath(raw: unknown): { basePath: string } | { problem: string } {
  if (typeof raw !== 'string' || !raw.startsWith('/')) {
    return { problem: 'spec.basePath must start with "/", e.g. /design-api/v1' };
  }
  const basePath = raw.replace(/\/+$/, '');
  if (basePath === '')
    return { problem: 'spec.basePath must name at least one path segment, e.g. /design-api/v1' };
  const segments = basePath.slice(1).split('/');
  for (const segment of segments) {
    if (segment === '' || segment === '.' || segment === '..' || !BASE_PATH_SEGMENT.test(segment)) {
      return {
        problem: `spec.basePath ${JSON.stringify(raw)} is not a plain path: use non-empty segments of letters, digits and - . _ ~ (no "//", ".", "..", "%")`,
      };
    }
  }
  if (segments[0] === '.well-known') {
    return {
      problem:
        'spec.basePath cannot be under /.well-known: the gateway serves its own metadata there',
    };
  }
  return { basePath };
}

function checkBackendUrl(raw: unknown): string | undefined {
  const message = 'spec.backend.url must be an absolute http or https URL';
  if (typeof raw !== 'string' || !URL.canParse(raw)) return message;
  const url = new URL(raw);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return message;
  // The snapshot is readable by every gateway and holds no secret.
  if (url.username !== '' || url.password !== '')
    return 'spec.backend.url must not carry credentials';
  if (url.search !== '' || url.hash !== '' || raw.includes('?') || raw.includes('#')) {
    return 'spec.backend.url must not have a query or fragment (the request query is passed on unchanged)';
  }
  return undefined;
}

interface CompiledOperations {
  paths: SnapshotPath[];
  securitySchemes: Record<string, SecurityScheme>;
  declaredScopes: string[];
  count: number;
  defaultSecured: number;
}

function compileOperations(document: OpenApiDocument): CompiledOperations | { problem: string } {
  const compiledSchemes = compileSecuritySchemes(document.components);
  if ('problem' in compiledSchemes) return compiledSchemes;
  const { schemes, declaredScopes } = compiledSchemes;

  let rootSecurity: ReturnType<typeof resolveSecurity> | undefined;
  if (document.security !== undefined) {
    rootSecurity = resolveSecurity(document.security, schemes, 'the root security');
    if ('problem' in rootSecurity) return rootSecurity;
  }

  const rawPaths = document.paths ?? {};
  if (!isRecord(rawPaths)) return { problem: 'paths must be a mapping' };
  const templates: PathTemplate[] = [];
  for (const key of Object.keys(rawPaths)) {
    if (key.startsWith('x-')) continue;
    const template = parsePathTemplate(key);
    if ('problem' in template)
      return { problem: `path ${JSON.stringify(key)}: ${template.problem}` };
    templates.push(template);
  }
  templates.sort(comparePathTemplates);

  // OpenAPI: "Templated paths with the same hierarchy but different templated names MUST NOT
  // exist as they are identical." Refused rather than guessed: either choice could route a
  // request to an operation with other security than its author meant.
  const byShape = new Map<string, string>();
  for (const { template, shape } of [...templates].sort((a, b) =>
    codeUnitOrder(a.template, b.template),
  )) {
    const other = byShape.get(shape);
    if (other !== undefined) {
      return {
        problem: `paths ${JSON.stringify(other)} and ${JSON.stringify(template)} are the same path with different parameter names`,
      };
    }
    byShape.set(shape, template);
  }

  const paths: SnapshotPath[] = [];
  let count = 0;
  let defaultSecured = 0;
  for (const { template } of templates) {
    const item = rawPaths[template];
    if (item === undefined || item === null) continue;
    if (!isRecord(item)) return { problem: `path ${JSON.stringify(template)} must be a mapping` };
    const operations: Record<string, SnapshotOperation> = {};
    for (const method of HTTP_METHODS) {
      const raw = item[method];
      if (raw === undefined) continue;
      const where = `operation ${method.toUpperCase()} ${template}`;
      if (!isRecord(raw)) return { problem: `${where} must be a mapping` };
      let security: SnapshotOperation['security'];
      if (raw.security !== undefined) {
        const resolved = resolveSecurity(raw.security, schemes, where);
        if ('problem' in resolved) return resolved;
        security = resolved;
      } else if (rootSecurity !== undefined) {
        security = structuredClone(rootSecurity as SnapshotOperation['security']);
      } else {
        security = structuredClone(DEFAULT_SECURITY);
        defaultSecured++;
      }
      operations[method.toUpperCase()] = {
        ...(typeof raw.operationId === 'string' ? { operationId: raw.operationId } : {}),
        security,
        securityDefaulted: raw.security === undefined && rootSecurity === undefined,
      };
      count++;
    }
    if (Object.keys(operations).length > 0) paths.push({ template, operations });
  }

  const allSchemes: Record<string, SecurityScheme> = {
    ...schemes,
    ...(defaultSecured > 0 ? DEFAULT_SCHEMES : {}),
  };
  const securitySchemes: Record<string, SecurityScheme> = {};
  for (const name of Object.keys(allSchemes).sort(codeUnitOrder)) {
    securitySchemes[name] = structuredClone(allSchemes[name] as SecurityScheme);
  }
  return { paths, securitySchemes, declaredScopes, count, defaultSecured };
}
