/**
 * The gather-side step for an Api's OpenAPI document: text (YAML or JSON) → a validated
 * document whose internal `$ref`s are resolved. Async because the parser is; the compiler that
 * consumes the result is pure.
 *
 * Security: the document is user input. It is parsed from text handed to us (never a path or a
 * URL), and every `$ref` that does not point inside the document itself is refused before the
 * parser runs, so reading a document can neither reach the network (SSRF) nor the gateway's
 * files (LFI). The parser's file and http resolvers are switched off as well, as a second line.
 */

import SwaggerParser from '@apidevtools/swagger-parser';
import { parse as parseYaml } from 'yaml';
import { createOpenApiSchemaValidator, type OpenApiSchemaValidator } from './openapi-schema.ts';
import type { OpenApiDocument, ParsedOpenApi } from './types.ts';

const SUPPORTED_VERSION = /^3\.[01]\.\d+$/;
/** Enough lines of a validation report to act on, without flooding a status message. */
const MAX_REPORTED_ERRORS = 8;
const MAX_QUOTED_LENGTH = 120;
/** Objects in the document once `$ref`s are expanded: bounds the time validation may take. */
const MAX_EXPANDED_NODES = 250_000;

/**
 * A parser that compiles the OpenAPI schemas once, on first use, and keeps them: what a
 * long-lived gather step (the operator, the standalone gateway) should hold. Compiling them is
 * most of the cost of parsing a small document (openapi-schema.ts).
 */
export function createOpenApiParser(): (text: string) => Promise<ParsedOpenApi> {
  const schema = createOpenApiSchemaValidator();
  return (text) => parseOpenApi(text, schema);
}

/**
 * Never throws: an unreadable document is `{ ok: false, reason: 'OpenApiInvalid' }` with a
 * message a person can act on. Without `schema`, the OpenAPI schemas are compiled for this
 * call alone (fine for one document; see `createOpenApiParser`).
 */
export async function parseOpenApi(
  text: string,
  schema: OpenApiSchemaValidator = createOpenApiSchemaValidator(),
): Promise<ParsedOpenApi> {
  let parsed: unknown;
  try {
    // The YAML library's defaults refuse duplicate keys and cap alias expansion ("billion laughs").
    parsed = parseYaml(text);
  } catch (error) {
    const reason = firstLine(error);
    return invalid(
      reason.startsWith('Source contains multiple documents')
        ? 'the text holds several YAML documents (separated by ---): give exactly one'
        : `the document is not valid YAML or JSON: ${reason.replace(/:$/, '')}`,
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return invalid('the document must be an OpenAPI object (a mapping with an `openapi` field)');
  }
  const document = parsed as Record<string, unknown>;
  if ('swagger' in document) {
    return invalid('Swagger 2.0 is not supported: convert the document to OpenAPI 3.0 or 3.1');
  }
  if (typeof document.openapi !== 'string') {
    return invalid(
      typeof document.openapi === 'number'
        ? 'the `openapi` field must be a string: quote it, e.g. openapi: "3.1.0"'
        : 'the `openapi` field is missing: Apiway reads OpenAPI 3.0.x and 3.1.x documents',
    );
  }
  if (!SUPPORTED_VERSION.test(document.openapi)) {
    return invalid(`OpenAPI ${quoted(document.openapi)} is not supported: use 3.0.x or 3.1.x`);
  }
  const external = findExternalRef(document);
  if (external) {
    return invalid(
      `$ref ${quoted(external.ref)} at ${external.at} points outside the document: ` +
        'Apiway reads only the document itself (no files, no URLs); ' +
        'put the referenced definitions under `components` and refer to them as "#/components/..."',
    );
  }
  const resolverOptions = { resolve: { external: false, file: false, http: false } };
  try {
    // Fully resolved first: with circular references "ignored", the parser would also leave
    // every `$ref` that merely leads to a recursive schema (a Path Item, a response) unresolved,
    // and the operations behind it would silently disappear.
    const resolved = await new SwaggerParser().dereference(document as never, {
      ...resolverOptions,
      dereference: { circular: true },
    });
    // Then a tree: recursive schemas cut where they loop, and a bound on the expanded size (a
    // few `$ref`s can expand to an enormous document).
    const tree = acyclicCopy(resolved, MAX_EXPANDED_NODES);
    if (tree === undefined) {
      return invalid(
        `the document expands to more than ${MAX_EXPANDED_NODES} objects once its $refs are resolved: split the Api`,
      );
    }
    normaliseBearerSchemeNames(tree);
    // swagger-parser's schema step, with the compiled schema kept; then its spec step.
    const schemaErrors = schema.validate(tree as { openapi: string });
    if (schemaErrors) return invalid(describeParserError({ details: schemaErrors }));
    const validated = await SwaggerParser.validate(tree as never, {
      ...resolverOptions,
      validate: { schema: false, spec: true },
    });
    return { ok: true, document: validated as unknown as OpenApiDocument };
  } catch (error) {
    if (error instanceof RangeError) return invalid('the document is nested too deeply');
    return invalid(describeParserError(error));
  }
}

/**
 * A copy with every reference back to an ancestor (a recursive schema) replaced by `{}`, the
 * schema that accepts anything: the result is a tree that can be validated, cloned and
 * serialised. `undefined` when it would hold more than `budget` objects.
 */
function acyclicCopy(root: unknown, budget: number): unknown {
  let count = 0;
  const ancestors = new Set<object>();
  const copy = (value: unknown): unknown => {
    if (value === null || typeof value !== 'object') return value;
    if (ancestors.has(value)) return {};
    if (++count > budget) throw new ExpansionLimit();
    ancestors.add(value);
    const result = Array.isArray(value)
      ? value.map(copy)
      : Object.fromEntries(Object.entries(value).map(([key, item]) => [key, copy(item)]));
    ancestors.delete(value);
    return result;
  };
  try {
    return copy(root);
  } catch (error) {
    if (error instanceof ExpansionLimit) return undefined;
    throw error;
  }
}

class ExpansionLimit extends Error {}

/**
 * `scheme: Bearer` (the IANA spelling) is valid: HTTP authentication scheme names are
 * case-insensitive (RFC 9110 §11.1), and the OpenAPI Initiative's schemas accept any case since
 * their 2021-09-28 releases. The ones bundled with the parser still say `const: bearer`, and
 * refuse a `bearerFormat` next to any other spelling: lower-case the name in our own copy.
 */
function normaliseBearerSchemeNames(document: unknown): void {
  const components = (document as { components?: unknown } | null)?.components;
  const schemes = (components as { securitySchemes?: unknown } | null | undefined)?.securitySchemes;
  if (schemes === null || typeof schemes !== 'object') return;
  for (const scheme of Object.values(schemes as Record<string, unknown>)) {
    if (scheme === null || typeof scheme !== 'object') continue;
    const http = scheme as { type?: unknown; scheme?: unknown };
    if (http.type === 'http' && typeof http.scheme === 'string' && /^bearer$/i.test(http.scheme)) {
      http.scheme = 'bearer';
    }
  }
}

function invalid(message: string): ParsedOpenApi {
  return {
    ok: false,
    reason: 'OpenApiInvalid',
    message: `OpenAPI document is invalid: ${message}`,
  };
}

/** The first `$ref` whose value does not start with `#` (a JSON pointer or anchor inside this document). */
function findExternalRef(root: object): { ref: string; at: string } | undefined {
  const stack: Array<{ value: unknown; at: string }> = [{ value: root, at: '#' }];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const { value, at } = stack.pop() as { value: unknown; at: string };
    if (value === null || typeof value !== 'object' || seen.has(value)) continue;
    seen.add(value);
    const entries: Array<[string, unknown]> = Array.isArray(value)
      ? value.map((item, index) => [String(index), item])
      : Object.entries(value);
    for (const [key, child] of entries) {
      if (key === '$ref' && typeof child === 'string' && !child.startsWith('#')) {
        return { ref: child, at };
      }
      stack.push({ value: child, at: `${at}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}` });
    }
  }
  return undefined;
}

interface SchemaError {
  instancePath: string;
  keyword: string;
  message?: string;
  params?: { allowedValues?: unknown[]; missingProperty?: string; additionalProperty?: string };
}

/**
 * Ajv reports every failed branch of the schema's `oneOf`s (a security scheme is checked as
 * each of the five kinds, and as a Reference Object): most of it is noise. Keep the errors at
 * the deepest places, which are the ones that say what to change.
 */
function summariseSchemaErrors(errors: readonly SchemaError[]): string[] {
  const useful = errors.filter(
    (error) =>
      !['oneOf', 'anyOf', 'not', 'if', 'false schema'].includes(error.keyword) &&
      error.params?.missingProperty !== '$ref',
  );
  const deepest = useful.filter(
    (error) => !useful.some((other) => other.instancePath.startsWith(`${error.instancePath}/`)),
  );
  // Enum errors of one place, from different branches, read as one list of allowed values.
  const allowed = new Map<string, Set<string>>();
  for (const error of deepest) {
    for (const value of error.params?.allowedValues ?? []) {
      const values = allowed.get(error.instancePath) ?? new Set<string>();
      values.add(JSON.stringify(value));
      allowed.set(error.instancePath, values);
    }
  }
  const lines = deepest.map((error) => {
    const at = `#${error.instancePath || '/'}`;
    const values = allowed.get(error.instancePath);
    if (error.params?.allowedValues && values)
      return `${at} must be one of ${[...values].join(', ')}`;
    if (error.params?.additionalProperty)
      return `${at} has unknown property "${error.params.additionalProperty}"`;
    return `${at} ${error.message ?? error.keyword}`;
  });
  return [...new Set(lines)];
}

function describeParserError(error: unknown): string {
  const details = (error as { details?: unknown })?.details;
  if (Array.isArray(details) && details.length > 0) {
    const lines = summariseSchemaErrors(details as SchemaError[]);
    const shown = lines.slice(0, MAX_REPORTED_ERRORS);
    const more = lines.length - shown.length;
    return `it does not follow the OpenAPI schema: ${shown.join('; ')}${more > 0 ? `; and ${more} more` : ''}`;
  }
  const message = error instanceof Error ? error.message : String(error);
  const lines = message
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const shown = lines.slice(0, MAX_REPORTED_ERRORS);
  const more = lines.length - shown.length;
  if (error instanceof Error && error.name === 'MissingPointerError') {
    return `a $ref points to nothing in the document: ${shown.join('; ')}`;
  }
  return `${shown.join('; ')}${more > 0 ? `; and ${more} more` : ''}`;
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

function quoted(value: string): string {
  const short = value.length > MAX_QUOTED_LENGTH ? `${value.slice(0, MAX_QUOTED_LENGTH)}…` : value;
  return JSON.stringify(short);
}
