/**
 * Evaluates a CRD schema's `x-kubernetes-validations` CEL rules the way the API server does
 * (apiextensions-apiserver pkg/apiserver/schema/cel): each rule runs with `self` bound to the
 * value at its schema node, on every present value (every item of a list), and a failing rule
 * becomes `field.Invalid(path, <schema type>, message)` — the API server prints the node's type
 * (`Invalid value: "string"`), not the value.
 *
 * What this does not do: transition rules (those using `oldSelf`) are skipped, as the API server
 * skips them on create, since a file has no previous version; cost limits are not enforced (the
 * API server's static estimate already bounds every rule of our CRDs); and only CEL's standard
 * library plus the strings extension exist here, so a rule using another Kubernetes library
 * (`url()`, `isURL()`, `quantity()`, `ip()`, lists, sets) fails with an evaluation error that
 * names the rule instead of passing silently.
 */

import type { CelEnv, CelResult } from '@bufbuild/cel';
import { celEnv, isCelError, parse, plan } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import type { StructuralSchema, ValidationRule } from './crd-schema.ts';
import { isObject } from './crd-schema.ts';
import type { FieldError, PathSegment } from './field-errors.ts';
import { fieldPath, renderValue } from './field-errors.ts';

type Program = (bindings: { self: unknown }) => CelResult;

interface CompiledRule {
  source: ValidationRule;
  program: Program;
  messageProgram?: Program;
  /** `fieldPath` of the rule as path segments below the node, e.g. `.product` → ['product']. */
  subPath: string[];
}

/** A schema node with its rules compiled, and its children. */
export interface CompiledNode {
  schema: StructuralSchema;
  rules: CompiledRule[];
  properties: Map<string, CompiledNode>;
  additionalProperties?: CompiledNode;
  items?: CompiledNode;
}

/** A fresh CEL environment with the libraries the API server's CRD rules can count on here. */
export function createCelEnv(): CelEnv {
  return celEnv({ funcs: strings });
}

/**
 * Compiles every rule of `schema` (parse and plan); throws, naming the rule, when one does not
 * parse, so a CRD the standalone gateway cannot enforce is found at start-up.
 */
export function compileRules(
  schema: StructuralSchema,
  env: CelEnv,
  path: PathSegment[] = [],
): CompiledNode {
  const rules: CompiledRule[] = [];
  for (const rule of schema['x-kubernetes-validations'] ?? []) {
    if (/\boldSelf\b/.test(rule.rule)) continue;
    rules.push({
      source: rule,
      program: compileExpression(rule.rule, env, path),
      messageProgram: rule.messageExpression
        ? compileExpression(rule.messageExpression, env, path)
        : undefined,
      subPath: parseRuleFieldPath(rule.fieldPath),
    });
  }
  const node: CompiledNode = { schema, rules, properties: new Map() };
  for (const [key, prop] of Object.entries(schema.properties ?? {})) {
    node.properties.set(key, compileRules(prop, env, [...path, key]));
  }
  if (isObject(schema.additionalProperties)) {
    node.additionalProperties = compileRules(schema.additionalProperties, env, [...path, '*']);
  }
  if (schema.items) node.items = compileRules(schema.items, env, [...path, '*']);
  return node;
}

/** Runs the compiled rules over `value` (already defaulted and schema-valid). */
export function evaluateRules(
  node: CompiledNode,
  value: unknown,
  path: PathSegment[] = [],
): FieldError[] {
  if (value === undefined || value === null) return [];
  const errors: FieldError[] = [];
  const type = node.schema.type ?? 'object';
  const self = toCel(value, node.schema);
  for (const rule of node.rules) {
    const result = rule.program({ self });
    if (isCelError(result)) {
      errors.push({
        type: 'Invalid value',
        field: fieldPath(path),
        value: renderValue(type),
        detail: `${result.message} evaluating rule: ${ruleText(rule.source)}`,
      });
      continue;
    }
    if (result === true) continue;
    errors.push(ruleFailure(rule, self, [...path, ...rule.subPath], type));
  }
  if (Array.isArray(value)) {
    const items = node.items;
    if (items)
      for (const [i, item] of value.entries())
        errors.push(...evaluateRules(items, item, [...path, i]));
  } else if (isObject(value)) {
    for (const [key, child] of Object.entries(value)) {
      const childNode = node.properties.get(key) ?? node.additionalProperties;
      if (childNode) errors.push(...evaluateRules(childNode, child, [...path, key]));
    }
  }
  return errors;
}

function ruleFailure(
  rule: CompiledRule,
  self: unknown,
  path: PathSegment[],
  type: string,
): FieldError {
  let message = rule.source.message?.trim() || `failed rule: ${ruleText(rule.source)}`;
  if (rule.messageProgram) {
    const evaluated = rule.messageProgram({ self });
    if (typeof evaluated === 'string' && evaluated.trim() !== '' && !evaluated.includes('\n')) {
      message = evaluated.trim();
    }
  }
  const field = fieldPath(path);
  switch (rule.source.reason) {
    case 'FieldValueRequired':
      return { type: 'Required value', field, detail: message };
    case 'FieldValueForbidden':
      return { type: 'Forbidden', field, detail: message };
    case 'FieldValueDuplicate':
      return { type: 'Duplicate value', field, value: renderValue(type) };
    default:
      return { type: 'Invalid value', field, value: renderValue(type), detail: message };
  }
}

function ruleText(rule: ValidationRule): string {
  return rule.message?.trim() || rule.rule.trim();
}

function compileExpression(expression: string, env: CelEnv, path: PathSegment[]): Program {
  try {
    return plan(env, parse(expression)) as Program;
  } catch (error) {
    const where = path.length === 0 ? 'the root' : fieldPath(path);
    throw new Error(
      `cannot compile the CEL rule at ${where} (${expression.trim()}): ${(error as Error).message}`,
    );
  }
}

/** `.product`, `.a.b` or `['x-y']` → segments; the API server accepts the same forms. */
function parseRuleFieldPath(path: string | undefined): string[] {
  if (!path) return [];
  const segments: string[] = [];
  const re = /\.([A-Za-z_][A-Za-z0-9_]*)|\['((?:[^'\\]|\\.)*)'\]/y;
  let match = re.exec(path);
  while (match) {
    segments.push(match[1] ?? (match[2] ?? '').replace(/\\(.)/g, '$1'));
    if (re.lastIndex === path.length) return segments;
    match = re.exec(path);
  }
  throw new Error(`unsupported fieldPath in a CEL rule: ${path}`);
}

/**
 * A JSON value as the API server hands it to CEL: integers of `type: integer` nodes are CEL
 * ints (bigint here), so `self.requests > 0` compares int with int as it does there, and
 * declared property names are escaped as there (`namespace` is `__namespace__` in a rule).
 */
function toCel(value: unknown, schema: StructuralSchema | undefined): unknown {
  if (Array.isArray(value)) return value.map((item) => toCel(item, schema?.items));
  if (isObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      const declared = schema?.properties?.[key];
      if (declared) {
        const name = escapeProperty(key);
        if (name !== undefined) out[name] = toCel(child, declared);
      } else if (isObject(schema?.additionalProperties)) {
        out[key] = toCel(child, schema.additionalProperties);
      }
    }
    return out;
  }
  if (typeof value === 'number' && schema?.type === 'integer' && Number.isInteger(value))
    return BigInt(value);
  return value;
}

const CEL_RESERVED = new Set([
  'true',
  'false',
  'null',
  'in',
  'as',
  'break',
  'const',
  'continue',
  'else',
  'for',
  'function',
  'if',
  'import',
  'let',
  'loop',
  'package',
  'namespace',
  'return',
  'var',
  'void',
  'while',
]);

/**
 * The name a rule uses for a declared property (k8s.io/apiserver/pkg/cel.Escape): reserved words
 * become `__word__`; `__`, `.`, `-` and `/` become `__underscores__`, `__dot__`, `__dash__` and
 * `__slash__`; a name with any other character is not accessible from CEL (undefined).
 */
export function escapeProperty(name: string): string | undefined {
  if (CEL_RESERVED.has(name)) return `__${name}__`;
  if (!/^[a-zA-Z_.\-/][a-zA-Z0-9_.\-/]*$/.test(name)) return undefined;
  return name.replace(/__|[-./]/g, (m) =>
    m === '__' ? '__underscores__' : m === '.' ? '__dot__' : m === '-' ? '__dash__' : '__slash__',
  );
}
