/**
 * Standalone mode's admission: a resource read from a file is checked against the same CRD
 * schemas (crds/*.yaml) the API server enforces, in the same order and with the same messages,
 * so `npm start` and `kubectl apply` reject a manifest with the same words.
 *
 * The steps mirror a create through the API server:
 * 1. apiVersion/kind must name a served version of one of the CRDs;
 * 2. `status` is dropped (with a status subresource, a create ignores it);
 * 3. metadata: `name` required and an RFC 1123 subdomain; `namespace` an RFC 1123 label,
 *    **defaulting to `default` when absent** (what kubectl does with a default context);
 * 4. unknown fields are refused, as with kubectl's default strict field validation, and then
 *    nothing else is reported (the API server fails decoding before it validates);
 * 5. nulls are dropped and `default`s applied (on a copy: the input is never modified);
 * 6. the OpenAPI schema (ajv), then list-type uniqueness;
 * 7. the CEL `x-kubernetes-validations` rules, unless step 6 found a missing, mistyped,
 *    unsupported, too long or too many value (the API server skips CEL then, and says so).
 *
 * What it does not check: label and annotation key/value syntax (only that they are strings),
 * and anything that needs other objects (references, basePath conflicts): the compiler reports
 * those in `Accepted=False`.
 */

import type { ErrorObject, ValidateFunction } from 'ajv';
import { Ajv } from 'ajv';
import { type CompiledNode, compileRules, createCelEnv, evaluateRules } from './cel-rules.ts';
import {
  applyDefaults,
  type CrdVersion,
  isObject,
  listTypeErrors,
  loadCrdVersions,
  type StructuralSchema,
  unknownFields,
} from './crd-schema.ts';
import {
  type FieldError,
  fieldPath,
  formatFieldError,
  jsonTypeName,
  type PathSegment,
  renderValue,
} from './field-errors.ts';
import type { ApiwayResource } from './types.ts';

export type ValidationResult =
  | { ok: true; resource: ApiwayResource }
  | { ok: false; errors: string[] };

export interface ResourceValidator {
  /** The `group/version` + kind pairs this validator knows, e.g. `apiway.net/v1alpha1 Api`. */
  readonly kinds: readonly string[];
  /**
   * Validates one object parsed from YAML or JSON. On success, `resource` is a defaulted deep
   * copy (namespace `default` when absent, no `status`); on failure, `errors` holds one
   * API-server-style message per problem, each naming the field.
   */
  validate(obj: unknown): ValidationResult;
}

/** Reads the CRDs in `crdDir` (e.g. the repo's `crds/`) and builds a validator from them. */
export async function createResourceValidator(crdDir: string): Promise<ResourceValidator> {
  return buildResourceValidator(await loadCrdVersions(crdDir));
}

const DEFAULT_NAMESPACE = 'default';

const BLOCKING: ReadonlySet<FieldError['type']> = new Set([
  'Unsupported value',
  'Required value',
  'Too long',
  'Too many',
]);

interface KindValidator {
  crd: CrdVersion;
  schema: StructuralSchema;
  ajv: ValidateFunction;
  rules: CompiledNode;
}

/** Builds a validator from CRD versions already loaded (see `loadCrdVersions`). */
export function buildResourceValidator(versions: readonly CrdVersion[]): ResourceValidator {
  const ajv = new Ajv({
    allErrors: true,
    strict: false,
    validateFormats: false,
    validateSchema: false,
  });
  const env = createCelEnv();
  const byKey = new Map<string, KindValidator>();
  for (const crd of versions) {
    const schema = structuredClone(crd.schema);
    byKey.set(`${crd.apiVersion} ${crd.kind}`, {
      crd,
      schema,
      ajv: ajv.compile(schema),
      rules: compileRules(schema, env),
    });
  }
  return {
    kinds: [...byKey.keys()],
    validate: (obj) => validateObject(byKey, obj),
  };
}

function validateObject(byKey: ReadonlyMap<string, KindValidator>, obj: unknown): ValidationResult {
  if (!isObject(obj)) return fail([`the object must be a mapping, not ${jsonTypeName(obj)}`]);
  const apiVersion = obj.apiVersion;
  const kind = obj.kind;
  const missing: string[] = [];
  if (typeof apiVersion !== 'string' || apiVersion === '')
    missing.push("Object 'apiVersion' is missing");
  if (typeof kind !== 'string' || kind === '') missing.push("Object 'Kind' is missing");
  if (missing.length > 0) return fail(missing);
  const kv = byKey.get(`${apiVersion} ${kind}`);
  if (!kv)
    return fail([`no matches for kind "${String(kind)}" in version "${String(apiVersion)}"`]);

  const copy = structuredClone(obj);
  delete copy.status;

  const unknown = unknownFields(copy, kv.schema);
  if (unknown.length > 0) return fail(unknown.map((f) => `unknown field "${f}"`));

  const errors: FieldError[] = validateMetadata(copy, kv.crd.namespaced);
  applyDefaults(copy, kv.schema);
  if (!kv.ajv(copy)) errors.push(...(kv.ajv.errors ?? []).flatMap((e) => toFieldErrors(e, copy)));
  errors.push(...listTypeErrors(copy, kv.schema));

  if (errors.some(isBlocking)) {
    errors.push({
      type: 'Invalid value',
      field: '<nil>',
      value: renderValue(null),
      detail:
        'some validation rules were not checked because the object was invalid; correct the existing errors to complete validation',
    });
  } else {
    errors.push(...evaluateRules(kv.rules, copy));
  }
  if (errors.length > 0) return fail(errors.map(formatFieldError));
  return { ok: true, resource: copy as unknown as ApiwayResource };
}

function isBlocking(error: FieldError): boolean {
  return BLOCKING.has(error.type) || error.typeMismatch === true;
}

function fail(errors: string[]): ValidationResult {
  return { ok: false, errors };
}

/**
 * ObjectMeta as the API server checks it on create (ValidateObjectMetaAccessor with
 * NameIsDNSSubdomain for custom resources). Fills in the namespace when absent.
 */
function validateMetadata(obj: Record<string, unknown>, namespaced: boolean): FieldError[] {
  if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
  const meta = obj.metadata;
  if (!isObject(meta)) {
    return [invalidType(['metadata'], 'object', meta)];
  }
  const errors: FieldError[] = [];
  if (meta.name === undefined || meta.name === null || meta.name === '') {
    errors.push({
      type: 'Required value',
      field: 'metadata.name',
      detail: 'name or generateName is required',
    });
  } else if (typeof meta.name !== 'string') {
    errors.push(invalidType(['metadata', 'name'], 'string', meta.name));
  } else {
    errors.push(
      ...dnsErrors(['metadata', 'name'], meta.name, DNS1123_SUBDOMAIN, 253, SUBDOMAIN_MESSAGE),
    );
  }
  if (namespaced) {
    if (meta.namespace === undefined || meta.namespace === null || meta.namespace === '') {
      meta.namespace = DEFAULT_NAMESPACE;
    } else if (typeof meta.namespace !== 'string') {
      errors.push(invalidType(['metadata', 'namespace'], 'string', meta.namespace));
    } else {
      errors.push(
        ...dnsErrors(['metadata', 'namespace'], meta.namespace, DNS1123_LABEL, 63, LABEL_MESSAGE),
      );
    }
  }
  for (const mapName of ['labels', 'annotations']) {
    const map = meta[mapName];
    if (map === undefined || map === null) continue;
    if (!isObject(map)) {
      errors.push(invalidType(['metadata', mapName], 'object', map));
      continue;
    }
    for (const [key, value] of Object.entries(map)) {
      if (typeof value !== 'string')
        errors.push(invalidType(['metadata', mapName, key], 'string', value));
    }
  }
  return errors;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_MESSAGE =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_MESSAGE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

function dnsErrors(
  path: PathSegment[],
  value: string,
  re: RegExp,
  max: number,
  message: string,
): FieldError[] {
  const errors: FieldError[] = [];
  const field = fieldPath(path);
  if (value.length > max) {
    errors.push({
      type: 'Invalid value',
      field,
      value: renderValue(value),
      detail: `must be no more than ${max} characters`,
    });
  }
  if (!re.test(value))
    errors.push({ type: 'Invalid value', field, value: renderValue(value), detail: message });
  return errors;
}

function invalidType(path: PathSegment[], expected: string, value: unknown): FieldError {
  const field = fieldPath(path);
  const actual = jsonTypeName(value);
  return {
    type: 'Invalid value',
    field,
    value: renderValue(actual),
    detail: `${field} in body must be of type ${expected}: ${renderValue(actual)}`,
    typeMismatch: true,
  };
}

/** One ajv error in kube-openapi's words (apiserver validation.kubeOpenAPIResultToFieldErrors). */
function toFieldErrors(error: ErrorObject, root: unknown): FieldError[] {
  const path = instancePath(error.instancePath, root);
  const field = fieldPath(path);
  const value = valueAt(root, path);
  const p = error.params as Record<string, unknown>;
  const inBody = `${field} in body`;
  switch (error.keyword) {
    case 'required':
      return [{ type: 'Required value', field: fieldPath([...path, String(p.missingProperty)]) }];
    case 'type':
      return [invalidType(path, String(p.type), value)];
    case 'enum':
      return [
        {
          type: 'Unsupported value',
          field,
          value: renderValue(value),
          detail: `supported values: ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(String(v))).join(', ')}`,
        },
      ];
    case 'maxLength':
      return [{ type: 'Too long', field, detail: `may not be more than ${String(p.limit)} bytes` }];
    case 'minLength':
      return [invalid(field, value, `${inBody} should be at least ${String(p.limit)} chars long`)];
    case 'pattern':
      return [invalid(field, value, `${inBody} should match '${String(p.pattern)}'`)];
    case 'minimum':
      return [
        invalid(field, value, `${inBody} should be greater than or equal to ${String(p.limit)}`),
      ];
    case 'maximum':
      return [
        invalid(field, value, `${inBody} should be less than or equal to ${String(p.limit)}`),
      ];
    case 'exclusiveMinimum':
      return [invalid(field, value, `${inBody} should be greater than ${String(p.limit)}`)];
    case 'exclusiveMaximum':
      return [invalid(field, value, `${inBody} should be less than ${String(p.limit)}`)];
    case 'maxItems':
      return [
        {
          type: 'Too many',
          field,
          value: String(Array.isArray(value) ? value.length : -1),
          detail: `must have at most ${String(p.limit)} items`,
        },
      ];
    case 'minItems':
      return [
        invalid(
          field,
          Array.isArray(value) ? value.length : 0,
          `${inBody} should have at least ${String(p.limit)} items`,
        ),
      ];
    case 'maxProperties':
      return [
        {
          type: 'Too many',
          field,
          value: String(isObject(value) ? Object.keys(value).length : -1),
          detail: `must have at most ${String(p.limit)} items`,
        },
      ];
    default:
      return [invalid(field, value, `${inBody} ${error.message ?? `fails ${error.keyword}`}`)];
  }
}

function invalid(field: string, value: unknown, detail: string): FieldError {
  return { type: 'Invalid value', field, value: renderValue(value), detail };
}

/** ajv's JSON pointer (`/spec/limits/0/period`) → segments, with list indexes as numbers. */
function instancePath(pointer: string, root: unknown): PathSegment[] {
  if (pointer === '') return [];
  const segments: PathSegment[] = [];
  let node = root;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      segments.push(Number(key));
      node = node[Number(key)];
    } else {
      segments.push(key);
      node = isObject(node) ? node[key] : undefined;
    }
  }
  return segments;
}

function valueAt(root: unknown, path: readonly PathSegment[]): unknown {
  let node = root;
  for (const segment of path) {
    if (typeof segment === 'number') node = Array.isArray(node) ? node[segment] : undefined;
    else node = isObject(node) ? node[segment] : undefined;
  }
  return node;
}
