/**
 * The parts of a CustomResourceDefinition the standalone gateway needs to treat a file the way
 * the API server treats a request: reading the CRDs from crds/, and the structural-schema steps
 * that happen before validation (unknown fields, nulls, defaults) and after it (list types).
 * Each function mirrors the apiextensions-apiserver step named in its comment.
 */

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { FieldError, PathSegment } from './field-errors.ts';
import { fieldPath, renderValue } from './field-errors.ts';

/** One `x-kubernetes-validations` entry. */
export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?:
    | 'FieldValueInvalid'
    | 'FieldValueForbidden'
    | 'FieldValueRequired'
    | 'FieldValueDuplicate';
  fieldPath?: string;
}

/** The subset of JSONSchemaProps a structural CRD schema uses. */
export interface StructuralSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, StructuralSchema>;
  additionalProperties?: StructuralSchema | boolean;
  items?: StructuralSchema;
  required?: string[];
  default?: unknown;
  nullable?: boolean;
  enum?: unknown[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: ValidationRule[];
  [keyword: string]: unknown;
}

/** A served version of one kind, from its CRD. */
export interface CrdVersion {
  group: string;
  version: string;
  /** `group/version`, as in a manifest's apiVersion. */
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  schema: StructuralSchema;
}

/**
 * Reads every `*.yaml` / `*.yml` in `dir` and returns the served versions of the
 * CustomResourceDefinitions found there. Throws when a CRD has no schema: the standalone
 * gateway must never run with less validation than the API server would apply.
 */
export async function loadCrdVersions(dir: string): Promise<CrdVersion[]> {
  const files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  const versions: CrdVersion[] = [];
  for (const file of files) {
    const text = await readFile(join(dir, file), 'utf8');
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message}`);
      const crd: unknown = doc.toJS();
      if (!isObject(crd) || crd.kind !== 'CustomResourceDefinition') continue;
      versions.push(...crdVersions(crd, file));
    }
  }
  if (versions.length === 0) throw new Error(`no CustomResourceDefinition found in ${dir}`);
  return versions;
}

/** The served versions of one parsed CRD object (apiextensions.k8s.io/v1). */
export function crdVersions(crd: Record<string, unknown>, source = 'CRD'): CrdVersion[] {
  const spec = crd.spec;
  if (!isObject(spec) || !isObject(spec.names) || !Array.isArray(spec.versions)) {
    throw new Error(`${source}: not an apiextensions.k8s.io/v1 CustomResourceDefinition`);
  }
  const group = String(spec.group);
  const names = spec.names;
  const out: CrdVersion[] = [];
  for (const v of spec.versions) {
    if (!isObject(v) || v.served !== true) continue;
    const schema = isObject(v.schema) ? v.schema.openAPIV3Schema : undefined;
    if (!isObject(schema))
      throw new Error(`${source}: version ${String(v.name)} has no openAPIV3Schema`);
    out.push({
      group,
      version: String(v.name),
      apiVersion: `${group}/${String(v.name)}`,
      kind: String(names.kind),
      plural: String(names.plural),
      namespaced: spec.scope === 'Namespaced',
      schema: schema as StructuralSchema,
    });
  }
  return out;
}

/**
 * Fields the schema does not declare, as `spec.foo`. The API server rejects them when the client
 * asks for strict field validation (kubectl's default): `strict decoding error: unknown field
 * "spec.foo"`. `metadata` is ObjectMeta and is checked separately.
 */
export function unknownFields(
  value: unknown,
  schema: StructuralSchema,
  path: PathSegment[] = [],
): string[] {
  if (schema['x-kubernetes-preserve-unknown-fields'] === true) return [];
  const out: string[] = [];
  if (Array.isArray(value)) {
    const items = schema.items;
    if (items)
      for (const [i, item] of value.entries())
        out.push(...unknownFields(item, items, [...path, i]));
    return out;
  }
  if (!isObject(value) || schema.type !== 'object') return out;
  for (const [key, child] of Object.entries(value)) {
    if (path.length === 0 && (key === 'metadata' || key === 'apiVersion' || key === 'kind'))
      continue;
    const declared = schema.properties?.[key];
    if (declared) out.push(...unknownFields(child, declared, [...path, key]));
    else if (isObject(schema.additionalProperties)) {
      out.push(...unknownFields(child, schema.additionalProperties, [...path, key]));
    } else if (schema.additionalProperties !== true) {
      out.push(fieldPath([...path, key]));
    }
  }
  return out;
}

/**
 * Applies the schema's defaults in place, as the API server does when it decodes a request
 * (structuraldefaulting.PruneNonNullableNullsWithoutDefaults, then Default): a null where the
 * schema allows no null counts as absent, and an absent field with a default gets a copy of it,
 * which is then defaulted itself.
 */
export function applyDefaults(value: unknown, schema: StructuralSchema): void {
  if (Array.isArray(value)) {
    if (schema.items) for (const item of value) applyDefaults(item, schema.items);
    return;
  }
  if (!isObject(value) || !schema.properties) return;
  for (const [key, prop] of Object.entries(schema.properties)) {
    const absent = !(key in value) || (value[key] === null && prop.nullable !== true);
    if (!absent) continue;
    if (prop.default !== undefined) value[key] = structuredClone(prop.default);
    else if (key in value) delete value[key];
  }
  for (const [key, child] of Object.entries(value)) {
    const prop = schema.properties[key];
    if (prop) applyDefaults(child, prop);
  }
}

/**
 * `x-kubernetes-list-type: set` and `map` uniqueness (structurallisttype.ValidateListSetsAndMaps):
 * the second occurrence of an item, or of a map key, is a `Duplicate value`.
 */
export function listTypeErrors(
  value: unknown,
  schema: StructuralSchema,
  path: PathSegment[] = [],
): FieldError[] {
  const out: FieldError[] = [];
  if (Array.isArray(value)) {
    const listType = schema['x-kubernetes-list-type'];
    const keys = schema['x-kubernetes-list-map-keys'] ?? [];
    const notObject =
      listType === 'map' ? value.findIndex((item) => item !== null && !isObject(item)) : -1;
    if (notObject >= 0) {
      out.push({
        type: 'Invalid value',
        field: fieldPath([...path, notObject]),
        value: renderValue(value[notObject]),
        detail: 'must be an object for an array of list-type map',
      });
    } else if (listType === 'set' || listType === 'map') {
      const seen = new Map<string, number>();
      value.forEach((item, i) => {
        const identity =
          listType === 'set'
            ? JSON.stringify(item)
            : JSON.stringify(keys.map((k) => (isObject(item) ? item[k] : undefined)));
        const times = seen.get(identity) ?? 0;
        seen.set(identity, times + 1);
        if (times !== 1) return;
        const shown = listType === 'set' ? renderValue(item) : goMapLiteral(keys, item);
        out.push({ type: 'Duplicate value', field: fieldPath([...path, i]), value: shown });
      });
    }
    const items = schema.items;
    if (items)
      for (const [i, item] of value.entries())
        out.push(...listTypeErrors(item, items, [...path, i]));
    return out;
  }
  if (isObject(value) && schema.properties) {
    for (const [key, child] of Object.entries(value)) {
      const prop = schema.properties[key];
      if (prop) out.push(...listTypeErrors(child, prop, [...path, key]));
    }
  }
  return out;
}

/** How Go prints the key map of a duplicate list-map item: `map[string]interface {}{"period":"1s"}`. */
function goMapLiteral(keys: readonly string[], item: unknown): string {
  const entries = keys
    .filter((k) => isObject(item) && k in item)
    .map((k) => `${JSON.stringify(k)}:${renderValue((item as Record<string, unknown>)[k])}`);
  return `map[string]interface {}{${entries.join(', ')}}`;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
