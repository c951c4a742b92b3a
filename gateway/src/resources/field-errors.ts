/**
 * Validation errors in the API server's words (k8s.io/apimachinery `field.Error`), so that the
 * standalone gateway tells a user exactly what `kubectl apply` would:
 * `spec.basePath: Invalid value: "string": must start with '/'`, `spec.backend: Required value`.
 */

export type FieldErrorType =
  | 'Required value'
  | 'Invalid value'
  | 'Unsupported value'
  | 'Forbidden'
  | 'Too long'
  | 'Too many'
  | 'Duplicate value'
  | 'Internal error';

export interface FieldError {
  type: FieldErrorType;
  /** A field path as the API server writes it (`spec.rateLimit.limits[0].period`), `<nil>` for none. */
  field: string;
  /** The bad value, already rendered (see `renderValue`); absent for types that omit it. */
  value?: string;
  detail?: string;
  /**
   * field.TypeInvalid: printed as "Invalid value", but, like Required, Unsupported, Too long and
   * Too many, it stops the API server from evaluating CEL rules.
   */
  typeMismatch?: boolean;
}

/** A path segment: a property name, or an index into a list. */
export type PathSegment = string | number;

/** `['spec', 'limits', 0, 'period']` → `spec.limits[0].period` (field.Path's String()). */
export function fieldPath(segments: readonly PathSegment[]): string {
  if (segments.length === 0) return '<nil>';
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}

/**
 * A value as the API server prints it in an error: strings quoted (Go `%q`), numbers and booleans
 * bare (`%v`), null as `"null"`.
 */
export function renderValue(value: unknown): string {
  if (value === null || value === undefined) return '"null"';
  if (typeof value === 'string') return goQuote(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  return goQuote(JSON.stringify(value));
}

/** The JSON type name kube-openapi reports for a value (`must be of type integer: "string"`). */
export function jsonTypeName(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

export function formatFieldError(error: FieldError): string {
  let body: string = error.type;
  if (error.value !== undefined) body += `: ${error.value}`;
  if (error.detail) body += `: ${error.detail}`;
  return `${error.field}: ${body}`;
}

/**
 * The whole message for one object, as `kubectl apply` prints the API server's answer:
 * `The Api "design-api" is invalid: spec.basePath: ...`, one `* ` line per error when several.
 */
export function describeInvalid(kind: string, name: string, errors: readonly string[]): string {
  const head = `The ${kind} "${name}" is invalid:`;
  if (errors.length === 1) return `${head} ${errors[0]}`;
  return `${head} \n${errors.map((error) => `* ${error}`).join('\n')}`;
}

/** Go's strconv.Quote for the characters that matter here: JSON escaping is the same for them. */
function goQuote(value: string): string {
  return JSON.stringify(value);
}
